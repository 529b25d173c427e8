import { DateTime } from '../../../platform/scalars.js';
import { Media } from './Media.js';
import { Mutation } from './Mutation.js';
import { Post } from './Post.js';
import { PostCounts } from './PostCounts.js';
import { Query } from './Query.js';
import { User } from './User.js';

export const resolvers = { DateTime, Query, Mutation, Post, PostCounts, User, Media };
