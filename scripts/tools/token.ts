import { signDevToken } from '../../platform/auth.js';
import { optionalStr, readEnv, str } from '../../platform/env.js';

/** `npm run token -- <userId> [expiresIn]`: a development token, alone on stdout. */
const [userId, expiresIn = '7d'] = process.argv.slice(2);
// An option is never a user id: `--help` used to come back as a token for the user "--help".
if (!userId || userId.startsWith('-')) {
  console.error(
    'usage: npm run token -- <userId> [expiresIn, e.g. 7d or 1h; at most JWT_MAX_LIFETIME_S, 7 days by default]',
  );
  process.exit(userId === '--help' || userId === '-h' ? 0 : 2);
}
const env = readEnv({ JWT_SECRET: optionalStr(), NODE_ENV: str('development') });
if (env.NODE_ENV === 'production') {
  console.error('Refusing to sign development tokens in production mode');
  process.exit(2);
}
console.log(await signDevToken(userId, env.JWT_SECRET, expiresIn));
