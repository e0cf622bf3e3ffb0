// The dev OpenID provider: oidc-provider (a certified OpenID Provider) for the users of
// config/dev-users.json, run by the gateway when no identity provider is configured. The admin
// center and the CLI sign in to it exactly as they sign in to Entra ID, Okta or Keycloak:
// authorization code with PKCE, refresh tokens, the device flow, RP-initiated logout.
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import Provider, { interactionPolicy, type Configuration, type KoaContextWithOIDC } from 'oidc-provider'
import type { JWK } from 'jose'
import type { DevUser } from '../../config/schema.js'
import { createFileOnce } from '../files/create-once.js'
import { fileAdapter } from './dev-provider-store.js'
import { DEV_CLIENT_ID, DEV_OIDC_PREFIX, devRedirectUris } from './dev-client.js'
import { page, escapeHtml } from './dev-provider-pages.js'

const COOKIE_KEY_FILE = 'dev-oidc-cookie-key'
const REFRESH_TOKEN_TTL_SECONDS = 14 * 24 * 3600

export interface DevProviderOptions {
  issuer: string
  dataDir: string
  users: DevUser[]
  /** The dev issuer's private key: tokens from POST /dev/token and from this provider verify alike. */
  signingKey: JWK
  idTokenTtlSeconds: number
  /** The admin center's address, for its redirect; loopback addresses are allowed on any port anyway. */
  publicUrl: string
  /** Believe X-Forwarded-* (LOCKBOX_TRUST_PROXY is set). */
  proxy: boolean
}

export async function createDevProvider (options: DevProviderOptions): Promise<Provider> {
  const { issuer, dataDir, idTokenTtlSeconds } = options
  const users = new Map(options.users.map((u) => [u.id, u]))
  const cookieKey = await loadOrCreateCookieKey(join(dataDir, COOKIE_KEY_FILE))
  const uris = devRedirectUris(options.publicUrl)

  const configuration: Configuration = {
    adapter: fileAdapter(join(dataDir, 'dev-oidc')),
    clients: [{
      client_id: DEV_CLIENT_ID,
      client_name: 'Lockbox Gateway',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
      redirect_uris: uris.redirect,
      post_logout_redirect_uris: uris.postLogout,
      id_token_signed_response_alg: 'EdDSA'
    }],
    jwks: { keys: [options.signingKey as never] },
    cookies: { keys: [cookieKey], long: { httpOnly: true, sameSite: 'lax' }, short: { httpOnly: true, sameSite: 'lax' } },
    // tid and roles ride with openid: every identity token names the organisation and the roles, as Entra ID's do.
    claims: { openid: ['sub', 'tid', 'roles'], profile: ['name', 'preferred_username'], email: ['email'] },
    // The identity token carries the claims itself: the gateway reads nothing from a userinfo endpoint.
    conformIdTokenClaims: false,
    findAccount: async (_ctx, sub) => {
      const user = users.get(sub)
      if (user === undefined) return undefined
      return {
        accountId: sub,
        claims: async () => ({ sub, name: user.name, preferred_username: user.email, email: user.email, tid: user.tid, roles: [...user.roles] })
      }
    },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: async (ctx, form, _out, err) => {
          ctx.body = page('Connect a device', `
            <h1>Connect a device</h1>
            ${err === undefined ? '<p>Enter the code the Lockbox CLI printed.</p>' : '<p class="error" role="alert">That code is not valid. Check it and try again.</p>'}
            ${form}
            <button type="submit" form="op.deviceInputForm">Continue</button>`)
        },
        userCodeConfirmSource: async (ctx, form, _client, _deviceInfo, userCode) => {
          ctx.body = page('Confirm the device', `
            <h1>Confirm the device</h1>
            <p>The Lockbox CLI asks to sign in as you. It shows the code <code>${escapeHtml(userCode)}</code>.</p>
            ${form}
            <button type="submit" form="op.deviceConfirmForm">Continue</button>
            <button type="submit" form="op.deviceConfirmForm" value="yes" name="abort">Cancel</button>`)
        },
        successSource: async (ctx) => {
          ctx.body = page('Device connected', '<h1>Device connected</h1><p>You are signed in on the command line. You can close this page.</p>')
        }
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = page('Sign out', `
            <h1>Sign out of the dev provider?</h1>
            ${form}
            <button type="submit" form="op.logoutForm" value="yes" name="logout">Sign out</button>
            <button type="submit" form="op.logoutForm">Stay signed in</button>`)
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = page('Signed out', '<h1>Signed out</h1><p>You have signed out of the dev provider.</p>')
        }
      }
    },
    interactions: { url: async (_ctx, interaction) => `${DEV_OIDC_PREFIX}/interaction/${interaction.uid}`, policy: signInPolicy() },
    // The public client gets a refresh token whether or not it could ask for offline_access.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // A first-party client: no consent screen, the requested scopes are granted on sign-in.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const { session, client, params, provider } = ctx.oidc
      /* c8 ignore next -- oidc-provider asks for a grant only once a session and a client are known */
      if (session?.accountId === undefined || client === undefined) return undefined
      const grantId = session.grantIdFor(client.clientId)
      const grant = (grantId === undefined ? undefined : await provider.Grant.find(grantId)) ??
        new provider.Grant({ clientId: client.clientId, accountId: session.accountId })
      grant.addOIDCScope((params as { scope: string }).scope)
      await grant.save()
      return grant
    },
    // The admin center calls the token endpoint from the gateway's own origin; no other site may.
    // (Koa 3's ctx.origin is the request's Origin header, which matched every origin: not the server's.)
    clientBasedCORS: (ctx, origin) => origin === `${ctx.protocol}://${ctx.host}` || origin === new URL(options.publicUrl).origin,
    pkce: { required: () => true },
    ttl: {
      IdToken: idTokenTtlSeconds,
      AccessToken: idTokenTtlSeconds,
      AuthorizationCode: 60,
      DeviceCode: 600,
      Interaction: 3600,
      Session: REFRESH_TOKEN_TTL_SECONDS,
      Grant: REFRESH_TOKEN_TTL_SECONDS,
      RefreshToken: REFRESH_TOKEN_TTL_SECONDS
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html'
      const said = [out.error, out.error_description].filter((part) => part !== undefined).map((part) => escapeHtml(String(part)))
      ctx.body = page('Sign-in failed', `<h1>Sign-in failed</h1><p role="alert">${said.join(': ')}</p>`)
    }
  }
  const provider = new Provider(issuer, configuration)
  provider.proxy = options.proxy
  return provider
}

/**
 * The default policy, less the consent screen every native client would get: the dev client is the
 * gateway's own, and choosing a user on the sign-in page is all the interaction a sign-in needs.
 */
function signInPolicy (): interactionPolicy.Prompt[] {
  const policy = interactionPolicy.base()
  policy.get('consent')?.checks.remove('native_client_prompt')
  return policy
}

async function loadOrCreateCookieKey (file: string): Promise<string> {
  await createFileOnce(file, randomBytes(32).toString('base64url') + '\n')
  return (await readFile(file, 'utf8')).trim()
}
