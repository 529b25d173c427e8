import type { CommandStartedEvent, Document } from 'mongodb';
import { BACKGROUND_SCAN } from '../../platform/mongo.js';
import { SHARD_KEYS } from '../../scripts/tools/shard-keys.js';

/**
 * What a mongos would have to broadcast: a read or a multi-document write whose filter lacks the
 * shard key's leading field, a single-document write whose filter does not pin the whole shard
 * key, an insert missing a key field. Repair
 * scans, tagged with BACKGROUND_SCAN, are off the request path and may scan every shard.
 */
export function shardKeyViolations(
  events: readonly CommandStartedEvent[],
  dbPrefix: string,
): string[] {
  const problems: string[] = [];
  for (const event of events) {
    const { databaseName, commandName, command } = event;
    if (!databaseName.startsWith(`${dbPrefix}_`)) continue;
    const subgraph = databaseName.slice(dbPrefix.length + 1);
    const collection = command[commandName];
    const spec = typeof collection === 'string' ? SHARD_KEYS[subgraph]?.[collection] : undefined;
    if (!spec || command.comment === BACKGROUND_SCAN) continue;
    const fields = Object.keys(spec.key);
    const where = `${commandName} ${subgraph}.${collection as string}`;
    const leads = (filter: Document | undefined) =>
      filter !== undefined && (fields[0] as string) in filter;
    const pinsKey = (filter: Document | undefined) =>
      filter !== undefined &&
      fields.every((field) => field in filter && !isOperator(filter[field]));

    switch (commandName) {
      case 'find':
      case 'count':
      case 'distinct':
        if (!leads(command.filter ?? command.query))
          problems.push(`${where}: ${JSON.stringify(command.filter ?? command.query)}`);
        break;
      case 'aggregate': {
        const match = (command.pipeline as Document[])[0]?.$match as Document | undefined;
        if (!leads(match))
          problems.push(`${where}: first stage ${JSON.stringify(command.pipeline[0])}`);
        break;
      }
      case 'update':
        for (const update of command.updates as Document[]) {
          if (!(update.multi ? leads(update.q) : pinsKey(update.q)))
            problems.push(`${where}: ${JSON.stringify(update.q)}`);
        }
        break;
      case 'delete':
        for (const deletion of command.deletes as Document[]) {
          if (!(deletion.limit === 0 ? leads(deletion.q) : pinsKey(deletion.q)))
            problems.push(`${where}: ${JSON.stringify(deletion.q)}`);
        }
        break;
      case 'findAndModify':
        if (!pinsKey(command.query)) problems.push(`${where}: ${JSON.stringify(command.query)}`);
        break;
      case 'insert':
        for (const document of command.documents as Document[]) {
          if (!fields.every((field) => field in document))
            problems.push(`${where}: ${JSON.stringify(document)}`);
        }
        break;
    }
  }
  return problems;
}

function isOperator(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof Date) &&
    Object.keys(value).some((key) => key.startsWith('$'))
  );
}
