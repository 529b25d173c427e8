import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { SupergraphSdlHook } from '@apollo/gateway';
import type { Logger } from '../platform/logger.js';

/**
 * The composed supergraph from a file, reloaded when the file changes: publishing a new schema is
 * writing the file (a deploy, or `npm run compose`), with no introspection of subgraphs at run
 * time. The directory is watched, not the file, because editors and `mv` replace the file. A
 * supergraph the gateway refuses is logged and the one in service stays.
 */
export function supergraphFromFile(
  path: string,
  logger: Logger,
  transform: (sdl: string) => string = (sdl) => sdl,
): SupergraphSdlHook {
  return async ({ update }) => {
    let current = await readFile(path, 'utf8');
    let timer: NodeJS.Timeout | undefined;
    const reload = async () => {
      const next = await readFile(path, 'utf8').catch(() => current);
      if (next === current || next.trim() === '') return;
      try {
        update(transform(next));
        current = next;
        logger.info({ path }, 'supergraph reloaded');
      } catch (error) {
        logger.error({ err: error, path }, 'supergraph rejected; keeping the previous one');
      }
    };
    const watcher = watch(dirname(path), (_event, filename) => {
      if (filename !== basename(path)) return;
      clearTimeout(timer);
      timer = setTimeout(() => void reload(), 100);
    });
    return {
      supergraphSdl: transform(current),
      async cleanup() {
        clearTimeout(timer);
        watcher.close();
      },
    };
  };
}
