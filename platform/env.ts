/**
 * Typed, validated configuration from the environment. A service describes every variable it
 * reads once; `readEnv` parses them all and reports every missing or malformed one together, so a
 * misconfigured deployment fails at start-up with one message instead of one error per restart.
 */
type Source = Record<string, string | undefined>;

interface Field<T> {
  parse(raw: string | undefined, name: string): T;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export function str(defaultValue?: string): Field<string> {
  return {
    parse(raw, name) {
      const value = raw === undefined || raw === '' ? defaultValue : raw;
      if (value === undefined) throw new Error(`${name} is required`);
      return value;
    },
  };
}

export function optionalStr(): Field<string | undefined> {
  return { parse: (raw) => (raw === undefined || raw === '' ? undefined : raw) };
}

export function int(defaultValue: number, min = 0, max = Number.MAX_SAFE_INTEGER): Field<number> {
  return {
    parse(raw, name) {
      if (raw === undefined || raw === '') return defaultValue;
      const value = Number(raw);
      if (!Number.isInteger(value) || value < min || value > max) {
        throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      }
      return value;
    },
  };
}

export function url(defaultValue: string | undefined, protocols: string[]): Field<string> {
  return {
    parse(raw, name) {
      const value = raw === undefined || raw === '' ? defaultValue : raw;
      if (value === undefined) throw new Error(`${name} is required`);
      let parsed: URL;
      try {
        parsed = new URL(value);
      } catch {
        throw new Error(`${name} must be a URL, got "${value}"`);
      }
      if (!protocols.includes(parsed.protocol)) {
        throw new Error(`${name} must use ${protocols.join(' or ')}, got "${value}"`);
      }
      return value;
    },
  };
}

export function oneOf<T extends string>(values: readonly T[], defaultValue: T): Field<T> {
  return {
    parse(raw, name) {
      if (raw === undefined || raw === '') return defaultValue;
      if (!(values as readonly string[]).includes(raw)) {
        throw new Error(`${name} must be one of ${values.join(', ')}, got "${raw}"`);
      }
      return raw as T;
    },
  };
}

export function readEnv<S extends Record<string, Field<unknown>>>(
  spec: S,
  source: Source = process.env,
): { [K in keyof S]: S[K] extends Field<infer T> ? T : never } {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(spec)) {
    try {
      out[name] = field.parse(source[name], name);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as { [K in keyof S]: S[K] extends Field<infer T> ? T : never };
}
