import { ApolloProvider } from '@apollo/client/react';
import { useMemo, useState } from 'react';
import { createApolloClient } from './apollo';
import type { AppConfig } from './config';
import { Feed } from './feed';
import { NewPost } from './new-post';
import { Notice } from './notice';
import { NotificationBell } from './notifications';
import { forgetSession, storedSession, type Session } from './session';
import { SignIn } from './sign-in';
import { StatusBar } from './status-bar';

export function App({ config }: { config: AppConfig }) {
  const [session, setSession] = useState<Session | null>(storedSession);
  const client = useMemo(() => {
    if (!session) return null;
    return createApolloClient(config.gatewayUrl, session, () => {
      forgetSession();
      setSession(null);
    });
  }, [config.gatewayUrl, session]);
  if (!session || !client) return <SignIn gatewayUrl={config.gatewayUrl} onSignedIn={setSession} />;
  return (
    <ApolloProvider client={client}>
      <header className="top">
        <h1>Feed</h1>
        <span data-testid="viewer">{session.userId}</span>
        <NotificationBell />
        <button
          type="button"
          onClick={() => {
            forgetSession();
            void client.clearStore();
            setSession(null);
          }}
        >
          Sign out
        </button>
      </header>
      <StatusBar />
      <Notice />
      <main>
        <NewPost gatewayUrl={config.gatewayUrl} token={session.token} />
        <Feed />
      </main>
    </ApolloProvider>
  );
}
