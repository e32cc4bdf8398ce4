// A real OpenID Connect provider for Passerelle's single sign-on tests (oidc-provider, pinned by
// package-lock.json). Started by tests/oidc/conftest.py:
//
//   OIDC_TEST_CONFIG='{"clients": [...], "accounts": {...}}' node provider.mjs
//
// It listens on 127.0.0.1 on a free port and prints one line "listening <issuer>" when ready.
// Clients are oidc-provider client metadata (a ProConnect-like one asks for signed userinfo);
// accounts map a login to its password, claims, and the acr/amr its login gives.
// The login and consent pages are plain HTML forms, driven by the tests (HTTP or a browser).
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import { parse as parseQuery } from 'node:querystring';

import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OIDC_TEST_CONFIG || '{}');
const accounts = config.accounts || {};

function signingKey(kid) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body><main><h1>${escape(title)}</h1>${body}</main></body></html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return parseQuery(Buffer.concat(chunks).toString('utf8'));
}

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: config.clients || [],
    jwks: { keys: [signingKey('test-key-1')] },
    cookies: { keys: ['passerelle-oidc-test-cookie-key'] },
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile', 'siret', 'idp_id'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['given_name', 'family_name', 'usual_name'],
      given_name: ['given_name'],
      usual_name: ['usual_name'],
      siret: ['siret'],
      idp_id: ['idp_id'],
      acr: null,
      amr: null,
      sid: null,
      auth_time: null,
    },
    acrValues: ['eidas1', 'eidas2', 'eidas3'],
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      jwtUserinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = page('Déconnexion', `${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Se déconnecter</button>`);
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = page('Déconnecté', '<p>Vous êtes déconnecté.</p>');
        },
      },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (ctx, id) => {
      const account = accounts[id];
      if (!account) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...account.claims }) };
    },
    ttl: { Session: 3600, Interaction: 600, Grant: 3600, AuthorizationCode: 60, IdToken: 300,
      AccessToken: 300 },
  });
  provider.proxy = false;

  // The login and consent pages (oidc-provider leaves them to the deployment).
  provider.use(async (ctx, next) => {
    const match = ctx.path.match(/^\/interaction\/([^/]+)(?:\/(login|confirm))?$/);
    if (!match) return next();
    const [, uid, action] = match;
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== uid) ctx.throw(400, 'wrong interaction');
    ctx.type = 'html';
    if (!action && details.prompt.name === 'login') {
      ctx.body = page('Connexion au fournisseur de test', `
<form method="post" action="/interaction/${uid}/login" autocomplete="off">
  <p><label for="login">Identifiant</label> <input id="login" name="login" required></p>
  <p><label for="password">Mot de passe</label>
     <input id="password" name="password" type="password" required></p>
  <button type="submit">Se connecter</button>
</form>`);
      return undefined;
    }
    if (!action) {
      ctx.body = page('Autorisation', `
<form method="post" action="/interaction/${uid}/confirm">
  <p>Transmettre votre identité à ${escape(details.params.client_id)} ?</p>
  <button type="submit">Continuer</button>
</form>`);
      return undefined;
    }
    if (ctx.method !== 'POST') ctx.throw(405);
    const form = await readForm(ctx.req);
    if (action === 'login') {
      const account = accounts[form.login];
      if (!account || account.password !== form.password) {
        ctx.status = 401;
        ctx.body = page('Identifiant ou mot de passe incorrect', '');
        return undefined;
      }
      const login = { accountId: form.login, remember: false };
      if (account.acr) login.acr = account.acr;
      if (account.amr) login.amr = account.amr;
      return provider.interactionFinished(ctx.req, ctx.res, { login },
        { mergeWithLastSubmission: false });
    }
    const { prompt: { details: missing }, params, session } = details;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    const grantId = await grant.save();
    return provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } },
      { mergeWithLastSubmission: true });
  });

  server.on('request', provider.callback());
  process.stdout.write(`listening ${issuer}\n`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
