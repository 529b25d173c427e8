/** The signed-in user: a bearer token kept in this tab's storage (the gateway sets no cookies). */
export interface Session {
  userId: string;
  token: string;
}

const KEY = 'session';

export const DEMO_USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];

export function storedSession(): Session | null {
  const text = sessionStorage.getItem(KEY);
  if (!text) return null;
  try {
    const session = JSON.parse(text) as Partial<Session>;
    return typeof session.userId === 'string' && typeof session.token === 'string'
      ? { userId: session.userId, token: session.token }
      : null;
  } catch {
    return null;
  }
}

export function forgetSession(): void {
  sessionStorage.removeItem(KEY);
}

/** Development sign-in: the gateway's `/dev/token` route, which production does not have. */
export async function signIn(gatewayUrl: string, userId: string): Promise<Session> {
  const response = await fetch(`${gatewayUrl}/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId }),
  });
  if (!response.ok) {
    throw new Error(
      response.status === 404
        ? 'This gateway has no demo sign-in (production mode)'
        : `Sign-in failed (HTTP ${response.status})`,
    );
  }
  const { token } = (await response.json()) as { token: string };
  const session = { userId, token };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  return session;
}
