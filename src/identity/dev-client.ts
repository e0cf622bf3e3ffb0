// The dev OpenID provider's public facts: where it is mounted and the one client it knows. Kept apart
// from dev-provider.ts so that naming them never loads oidc-provider (only the dev mode does).

/** Where the provider is mounted; its issuer is `<public URL>/dev/oidc`. */
export const DEV_OIDC_PREFIX = '/dev/oidc'
/** The one public client: the admin center and the CLI. ID tokens are issued to it, so it is also the audience. */
export const DEV_CLIENT_ID = 'lockbox-gateway'
/** The dev provider issues identity tokens to its one client: that client is their audience. */
export const DEV_AUDIENCE = DEV_CLIENT_ID
export const DEV_SCOPES = 'openid profile email offline_access'

/** The redirect URIs of the dev client: loopback ones match on any port (RFC 8252 §7.3, a native client). */
export function devRedirectUris (publicUrl: string): { redirect: string[], postLogout: string[] } {
  const loopback = ['http://127.0.0.1', 'http://localhost', 'http://[::1]']
  const redirect = loopback.flatMap((origin) => [`${origin}/admin/`, `${origin}/callback`])
  const postLogout = loopback.map((origin) => `${origin}/admin/`)
  // A native client may name an https address too; plain http is for loopback only.
  if (new URL(publicUrl).protocol === 'https:') {
    redirect.push(`${publicUrl}/admin/`)
    postLogout.push(`${publicUrl}/admin/`)
  }
  return { redirect, postLogout }
}
