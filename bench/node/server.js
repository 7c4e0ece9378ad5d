// panva's oidc-provider as the peer of `make bench` (bench/README.md): one Node
// process, its default in-memory storage, RS256 JWT access tokens (RFC 9068) for
// client_credentials and for refresh, rotating refresh tokens (as the IdP does).
//
//   PORT=8102 node bench/node/server.js
//
// GET /bench/refresh-tokens?n=32 mints fresh refresh tokens of a grant for
// "openid profile offline_access" directly through the provider's models (the
// load needs one per connection to start its rotation chains; logging in through
// interactions would add nothing to what is measured).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 8102);
const issuer = `http://127.0.0.1:${port}`;
const RESOURCE = 'urn:bench:api';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', alg: 'RS256', use: 'sig' };

const clients = [
  { client_id: 'bench-cc', client_secret: 'bench-cc-secret', grant_types: ['client_credentials'],
    response_types: [], redirect_uris: [], scope: 'api' },
  { client_id: 'bench-rp', client_secret: 'bench-rp-secret', grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'], redirect_uris: ['http://127.0.0.1:9/cb'], scope: 'openid profile offline_access api' },
];

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'profile', 'offline_access', 'api'],
  claims: { openid: ['sub'], profile: ['name', 'preferred_username', 'locale'] },
  findAccount: (ctx, id) => ({
    accountId: id,
    claims: () => ({ sub: id, name: 'Bench User', preferred_username: 'u1@bench', locale: 'hu' }),
  }),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api', audience: RESOURCE, accessTokenTTL: 600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  rotateRefreshToken: true,
  ttl: { AccessToken: 600, ClientCredentials: 600, IdToken: 600, RefreshToken: 30 * 86400, Grant: 30 * 86400 },
});

provider.on('server_error', (ctx, error) => console.error('server_error', error));

async function mintRefreshToken(client) {
  const grant = new provider.Grant({ accountId: 'bench-user', clientId: client.clientId });
  grant.addOIDCScope('openid profile offline_access');
  grant.addResourceScope(RESOURCE, 'api');
  const grantId = await grant.save();
  const token = new provider.RefreshToken({
    client, accountId: 'bench-user', grantId, gty: 'authorization_code', scope: 'openid profile offline_access api',
    resource: RESOURCE, authTime: Math.floor(Date.now() / 1000), expiresWithSession: false,
  });
  return token.save();
}

provider.use(async (ctx, next) => {
  if (ctx.path !== '/bench/refresh-tokens') return next();
  const client = await provider.Client.find('bench-rp');
  const n = Math.min(Number(ctx.query.n || 1), 1000);
  const tokens = [];
  for (let i = 0; i < n; i += 1) tokens.push(await mintRefreshToken(client));
  ctx.body = tokens;
});

provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider ${issuer} ready`));
