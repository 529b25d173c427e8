import { useState } from 'react';
import { DEMO_USERS, signIn, type Session } from './session';

export function SignIn(props: { gatewayUrl: string; onSignedIn: (session: Session) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main className="sign-in">
      <h1>Sign in</h1>
      <p>Pick a demo user (development only).</p>
      <ul>
        {DEMO_USERS.map((userId) => (
          <li key={userId}>
            <button
              type="button"
              disabled={busy}
              onClick={() => {
                setBusy(true);
                setError(null);
                signIn(props.gatewayUrl, userId).then(props.onSignedIn, (failure: unknown) => {
                  setError((failure as Error).message);
                  setBusy(false);
                });
              }}
            >
              {userId}
            </button>
          </li>
        ))}
      </ul>
      {error && <p className="state error">{error}</p>}
    </main>
  );
}
