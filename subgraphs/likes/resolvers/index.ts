import { DateTime } from '../../../platform/scalars.js';
import { Like } from './Like.js';
import { Mutation } from './Mutation.js';
import { Post } from './Post.js';

export const resolvers = { DateTime, Mutation, Post, Like };
