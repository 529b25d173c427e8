import { fileURLToPath } from 'node:url';

/** The repository root: this module compiles to `dist/platform/paths.js`, two levels below it. */
export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Absolute path of a file given relative to the repository root. */
export function projectPath(relative: string): string {
  return fileURLToPath(new URL(relative, new URL('../../', import.meta.url)));
}
