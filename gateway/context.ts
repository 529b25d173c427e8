import type { Viewer } from '../platform/auth.js';

export interface GatewayContext {
  viewer: Viewer | null;
  requestId: string;
  /** Forwarded as it came, once verified, so each subgraph can verify it again. */
  authorization: string | undefined;
}
