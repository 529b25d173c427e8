import { DateTime } from '../../../platform/scalars.js';
import { Mutation } from './Mutation.js';
import { Notification } from './Notification.js';
import { Query } from './Query.js';

export const resolvers = { DateTime, Query, Mutation, Notification };
