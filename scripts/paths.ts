import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root, without a trailing separator. This module runs as
 * `dist/scripts/paths.js`, so the root is two levels up from the compiled file, not one.
 */
export const projectRoot: string = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));
