import type { RequestBase } from '../../platform/subgraph.js';
import type { NotificationsEvents } from './events.js';
import { notificationsLoaders, type NotificationsLoaders } from './loaders.js';
import type { NotificationsStores } from './stores.js';

export interface NotificationsContext extends RequestBase {
  stores: NotificationsStores;
  events: NotificationsEvents;
  loaders: NotificationsLoaders;
}

export function notificationsContext(stores: NotificationsStores, events: NotificationsEvents) {
  return (base: RequestBase): NotificationsContext => ({
    ...base,
    stores,
    events,
    loaders: notificationsLoaders(stores, base.metrics),
  });
}
