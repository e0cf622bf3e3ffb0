// `lockbox login`, `whoami` and `logout`: the identity token a profile holds.
import type { Readable } from 'node:stream'
import { type Command, Option } from 'commander'
import type { Me } from '../api.js'
import { contextOf, type Context } from '../context.js'
import { UsageError } from '../errors.js'
import { expiry, fields } from '../format.js'
import type { Terminal } from '../output.js'
import { authConfig, browserOpener, refreshSignIn, signIn, unverifiedClaims, type SignedIn } from '../sign-in.js'

/** Renewed this long before the identity token expires, so a command never starts with one about to lapse. */
const RENEW_BEFORE_MS = 60_000

/**
 * Before a command: an identity token that has expired (or is about to) is renewed with the stored
 * refresh token, and the profile saved, so the user stays signed in without noticing.
 */
export async function renewIdentity (ctx: Context): Promise<void> {
  const { profile } = ctx
  if (profile.identityToken === undefined || profile.signIn === undefined) return
  const exp = unverifiedClaims(profile.identityToken).exp
  if (typeof exp === 'number' && exp * 1000 - ctx.now() > RENEW_BEFORE_MS) return
  const renewed = await refreshSignIn(profile.signIn)
  profile.identityToken = renewed.idToken
  profile.signIn = renewed.signIn
  ctx.save()
}

/** An identity token piped on stdin; a terminal is refused rather than waited on. */
export async function tokenFromStdin (stdin: Readable & Terminal): Promise<string> {
  if (stdin.isTTY === true) throw new UsageError('no token given', 'run `lockbox login` on a terminal to sign in, pass --dev <user> (dev issuer) or --token <jwt>, or pipe the token on stdin')
  let text = ''
  for await (const chunk of stdin) text += String(chunk)
  const token = text.trim()
  if (token === '') throw new UsageError('stdin held no token', 'pipe the identity token from your OIDC provider, or pass --dev <user>')
  return token
}

/** The `exp` of a JWT, read without verifying it: only to tell the user when to log in again. */
export function tokenExpiry (token: string): string | null {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8')) as { exp?: unknown }
    return typeof payload.exp === 'number' ? new Date(payload.exp * 1000).toISOString() : null
  } catch {
    return null
  }
}

function describeMe (me: Me): Array<[string, string]> {
  return [
    ['user', `${me.name} (${me.id})`],
    ['email', me.email ?? '-'],
    ['tenant', me.provider ? `${me.tenantId} (provider staff)` : me.tenantId],
    ['roles', me.roles.length === 0 ? '(none: a customer user)' : me.roles.join(', ')]
  ]
}

export function registerAuth (program: Command): void {
  program.command('login')
    .description('sign in with your identity provider (device code or browser), or store a given identity token, in the profile')
    .addOption(new Option('--dev <user>', 'get the token from the gateway\'s dev issuer, for a user of config/dev-users.json').conflicts(['token', 'device', 'browser']))
    .addOption(new Option('--token <jwt>', 'the identity token from your OIDC provider (scripts; also read from piped stdin)').conflicts(['device', 'browser']))
    .addOption(new Option('--device', 'sign in with a code entered on another device (the default on a terminal, where the provider offers it)').conflicts('browser'))
    .option('--browser', 'sign in in this machine\'s browser (redirect to a loopback address, PKCE)')
    .action(async (options: { dev?: string, token?: string, device?: true, browser?: true }, command: Command) => {
      const ctx = contextOf(command)
      let signedIn: SignedIn
      if (options.dev !== undefined) {
        signedIn = { idToken: (await ctx.client.json<{ token: string }>('POST', '/dev/token', { token: null, plane: 'dev', json: { user: options.dev } })).token, signIn: null }
      } else if (options.token !== undefined) {
        signedIn = { idToken: options.token, signIn: null }
      } else if (options.device === true || options.browser === true || ctx.io.stdin.isTTY === true) {
        // On a terminal (or when asked), the sign-in people expect; a pipe still hands over a token.
        const flow = options.device === true ? 'device' : options.browser === true ? 'browser' : undefined
        signedIn = await signIn(await authConfig(ctx.client), { out: ctx.out, flow, openBrowser: browserOpener(ctx.io.env), now: ctx.now })
      } else {
        signedIn = { idToken: await tokenFromStdin(ctx.io.stdin), signIn: null }
      }
      const token = signedIn.idToken
      const me = await ctx.client.json<Me>('GET', '/v1/me', { token })
      // Access tokens belong to the user who obtained them; a different user starts with none.
      if (ctx.profile.user?.id !== me.id) ctx.profile.accessTokens = {}
      ctx.profile.url = ctx.client.baseUrl
      ctx.profile.identityToken = token
      if (signedIn.signIn === null) delete ctx.profile.signIn
      else ctx.profile.signIn = signedIn.signIn
      ctx.profile.user = { id: me.id, name: me.name, tenantId: me.tenantId, provider: me.provider, roles: me.roles }
      ctx.save()
      ctx.out.result({ profile: ctx.store.name, url: ctx.client.baseUrl, user: me, renewable: signedIn.signIn !== null }, () => {
        ctx.out.line(`Logged in as ${ctx.out.paint('bold', me.name)} (${me.id}) on ${ctx.client.baseUrl}, profile "${ctx.store.name}".`)
        ctx.out.lines(fields(describeMe(me).slice(2)))
      })
    })

  program.command('whoami')
    .description('who the gateway says you are, with the roles that count')
    .action(async (_options: unknown, command: Command) => {
      const ctx = contextOf(command)
      const token = ctx.identity()
      const me = await ctx.client.json<Me>('GET', '/v1/me', { token })
      const exp = tokenExpiry(token)
      ctx.out.result(me, () => {
        ctx.out.lines(fields([
          ...describeMe(me),
          ['profile', `${ctx.store.name} (${ctx.client.baseUrl})`],
          ['identity', exp === null ? 'token without expiry' : `token ${expiry(exp, ctx.now())}`]
        ]))
      })
    })

  program.command('logout')
    .description('forget the profile: its identity token and stored access tokens')
    .action((_options: unknown, command: Command) => {
      const ctx = contextOf(command)
      const removed = ctx.store.remove()
      ctx.out.result({ profile: ctx.store.name, removed }, () => {
        ctx.out.line(removed ? `Logged out: profile "${ctx.store.name}" removed.` : `Profile "${ctx.store.name}" held nothing.`)
      })
    })
}
