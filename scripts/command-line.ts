import { parseArgs, type ParseArgsConfig } from 'node:util';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/**
 * A script's options, parsed strictly: `--help` prints what the script does and every option with
 * its default, and a mistyped option prints the same usage with the mistake instead of a stack
 * trace. Both exit, so callers only ever see valid options.
 */
export function readOptions<T extends OptionsConfig>(
  command: string,
  summary: string,
  options: T,
): ReturnType<typeof parseArgs<{ options: T }>>['values'] {
  const lines = Object.entries(options).map(([name, option]) => {
    const flag = option.type === 'boolean' ? `--${name}` : `--${name} <value>`;
    const fallback =
      option.default === undefined || option.default === false
        ? ''
        : ` (default ${String(option.default)})`;
    return `  ${flag}${fallback}`;
  });
  const usage = `Usage: ${command} [options]\n\n${summary}\n\nOptions:\n${lines.join('\n')}\n  --help\n`;
  if (process.argv.slice(2).some((arg) => arg === '--help' || arg === '-h')) {
    process.stdout.write(usage);
    process.exit(0);
  }
  try {
    return parseArgs({ options }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
}

/** The numeric value of an option, or exits with the option named: `--seconds abc` is a typo. */
export function numberOption(name: string, value: string | undefined): number {
  const parsed = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isFinite(parsed)) {
    process.stderr.write(`--${name} must be a number, not ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
  return parsed;
}

/** The value of an option that takes one of a few words, or exits naming them. */
export function choiceOption<T extends string>(
  name: string,
  value: string | undefined,
  choices: readonly T[],
): T {
  const choice = choices.find((c) => c === value);
  if (choice === undefined) {
    process.stderr.write(
      `--${name} must be one of ${choices.join(', ')}, not ${JSON.stringify(value)}\n`,
    );
    process.exit(2);
  }
  return choice;
}
