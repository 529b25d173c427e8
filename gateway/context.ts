import type { Viewer } from '../platform/auth.js';

export interface GatewayContext {
  viewer: Viewer | null;
  requestId: string;
  /** The client's address, for per-IP budgets; absent for the gateway's own follow-up queries. */
  ip?: string;
  /** Forwarded as it came, once verified, so each subgraph can verify it again. */
  authorization: string | undefined;
}
