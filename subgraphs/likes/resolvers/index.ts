import { DateTime } from '../../../platform/scalars.js';
import { Like, User } from './Like.js';
import { Mutation } from './Mutation.js';
import { Post } from './Post.js';
import { PostCounts } from './PostCounts.js';
import { Query } from './Query.js';

export const resolvers = { DateTime, Query, Mutation, Post, PostCounts, Like, User };
