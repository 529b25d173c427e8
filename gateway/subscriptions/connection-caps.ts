/** Open counts by key, for the caps below. */
class Counts {
  private readonly counts = new Map<string, number>();
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  /** Counts one more under `key`; the returned function counts it out, once. */
  hold(key: string): () => void {
    this.counts.set(key, this.get(key) + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const count = this.get(key) - 1;
      if (count > 0) this.counts.set(key, count);
      else this.counts.delete(key);
    };
  }
}

export interface ConnectionLimits {
  /** Streaming connections (WebSockets and multipart subscriptions) open at once by one user. */
  maxPerUser: number;
  /** The same, from one client address. */
  maxPerIp: number;
}

/**
 * Caps on the long-lived connections a client may hold, shared by every streaming transport: a
 * WebSocket and a multipart subscription each count as one, so neither is a way around the other.
 */
export class ConnectionCaps {
  private readonly users = new Counts();
  private readonly ips = new Counts();

  constructor(private readonly limits: ConnectionLimits) {}

  /** Why one more connection from this address is refused, or undefined. */
  ipRefusal(ip: string): string | undefined {
    return this.ips.get(ip) >= this.limits.maxPerIp
      ? `At most ${this.limits.maxPerIp} streaming connections (WebSockets, subscriptions over HTTP) per address`
      : undefined;
  }

  /** Why one more connection by this user is refused, or undefined. */
  userRefusal(userId: string): string | undefined {
    return this.users.get(userId) >= this.limits.maxPerUser
      ? `At most ${this.limits.maxPerUser} streaming connections (WebSockets, subscriptions over HTTP) per user`
      : undefined;
  }

  holdIp(ip: string): () => void {
    return this.ips.hold(ip);
  }

  holdUser(userId: string): () => void {
    return this.users.hold(userId);
  }
}
