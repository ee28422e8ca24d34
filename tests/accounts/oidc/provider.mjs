// A real OpenID Connect provider (the npm package oidc-provider) for the tests.
//
//   node tests/accounts/oidc/provider.mjs '<config JSON>'
//
// The config names the clients ({client_id, client_secret, redirect_uris}) and the
// test users ({login, password, sub, email, email_verified, name}). The provider
// listens on 127.0.0.1 on a free port and prints one line, "ready <issuer>", once it
// accepts connections. Its login page is this script's own: a username and password
// form with a Cancel button (which answers access_denied); consent is given at once.
import crypto from "node:crypto";
import http from "node:http";
import Provider from "oidc-provider";

const config = JSON.parse(process.argv[2] || "{}");
const users = new Map((config.users || []).map((u) => [u.login, u]));
const bySub = new Map((config.users || []).map((u) => [u.sub, u]));

const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: "jwk" }), kid: "test-key", use: "sig", alg: "RS256" };

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function loginPage(uid, problem) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Test provider: sign in</title></head>
<body><main><h1>Test provider</h1>
${problem ? `<p role="alert">${escapeHtml(problem)}</p>` : ""}
<form method="post" action="/interaction/${uid}/login">
<label for="login">Username</label> <input id="login" name="login" autocomplete="username">
<label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Continue</button></form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit">Cancel</button></form>
</main></body></html>`;
}

async function readForm(req) {
  let body = "";
  for await (const chunk of req) body += chunk;
  return Object.fromEntries(new URLSearchParams(body));
}

async function start() {
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;

  const provider = new Provider(issuer, {
    clients: (config.clients || []).map((c) => ({
      client_id: c.client_id, client_secret: c.client_secret, redirect_uris: c.redirect_uris,
      grant_types: ["authorization_code"], response_types: ["code"],
      token_endpoint_auth_method: c.token_endpoint_auth_method || "client_secret_basic",
    })),
    jwks: { keys: [signingKey] },
    cookies: { keys: [crypto.randomBytes(32).toString("hex")] },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name", "preferred_username"] },
    // Put the requested claims in the ID token itself, as Entra ID and Google do.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    ttl: { IdToken: config.id_token_ttl || 3600 },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (ctx, sub) => {
      const user = bySub.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        claims: async () => ({
          sub, email: user.email, email_verified: user.email_verified, name: user.name,
          preferred_username: user.login,
        }),
      };
    },
  });
  const callback = provider.callback();

  async function interaction(req, res) {
    const [, , uid, action] = new URL(req.url, issuer).pathname.split("/");
    const details = await provider.interactionDetails(req, res);
    if (req.method === "GET" && details.prompt.name === "login") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(loginPage(uid));
      return;
    }
    if (req.method === "GET" && details.prompt.name === "consent") {
      const { prompt: { details: missing }, params, session: { accountId } } = details;
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId, clientId: params.client_id });
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    if (req.method === "POST" && action === "login") {
      const form = await readForm(req);
      const user = users.get(form.login);
      if (!user || user.password !== form.password) {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end(loginPage(uid, "Wrong username or password."));
        return;
      }
      await provider.interactionFinished(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
      return;
    }
    if (req.method === "POST" && action === "abort") {
      await provider.interactionFinished(req, res, {
        error: "access_denied", error_description: "The user cancelled signing in.",
      }, { mergeWithLastSubmission: false });
      return;
    }
    res.writeHead(404).end();
  }

  server.on("request", (req, res) => {
    if (req.url.startsWith("/interaction/")) {
      interaction(req, res).catch((error) => {
        res.writeHead(400, { "content-type": "text/plain" });
        res.end(String(error && error.message));
      });
    } else {
      callback(req, res);
    }
  });
  process.stdout.write(`ready ${issuer}\n`);
}

for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
start().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
