// The gateway assertion check of the mock content services (API.md §5): a mock answers only calls
// that came through the gateway, proven by the short-lived `x-lockbox-assertion` it signs.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { jwtVerify, type JWTVerifyGetKey } from 'jose'
import { ACCESS_LEVELS, type AccessLevel, type Workload } from '../domain/lockbox.js'
import { approvalRefusal, type ApproverKeySource } from './approvals.js'

export const ASSERTION_HEADER = 'x-lockbox-assertion'
export const ASSERTION_TYPE = 'lockbox-assertion+jwt'

export interface GatewayAssertionOptions {
  /** The gateway's public keys, e.g. `createLocalJWKSet(jwks)` or `createRemoteJWKSet(url)`. */
  keys: JWTVerifyGetKey
  /** The `iss` the gateway puts in its assertions. */
  issuer: string
  /**
   * The clock assertions are checked against (epoch ms); default the wall clock. A gateway under
   * test on a fake clock signs with that clock, so its mocks must read the same one.
   */
  now?: () => number
  /**
   * Signed-approvals mode (LOCKBOX_MOCK_REQUIRE_SIGNED_APPROVALS): the tenant's published approver
   * keys. When set, content is served only with an approval its approvers signed, inside the window
   * they signed (403 otherwise).
   */
  approverKeys?: ApproverKeySource
  /**
   * The clock the signed window is judged by; default the wall clock. The approvals' times are
   * stamped by the gateway's clock, so a gateway under test on a fake clock hands its mocks that one.
   */
  windowNow?: () => number
}

export interface GatewayAssertion {
  requestId: string
  actor: string
  tenantId: string
  scope: string
  accessLevel: AccessLevel
  /** The approvers' signatures over the grant, when it was approved with passkeys. */
  approval?: unknown
}

const STRING_CLAIMS = ['requestId', 'actor', 'tenantId', 'scope'] as const

/** The claims of a valid assertion for `workload`; throws when it is not one. */
export async function verifyGatewayAssertion (
  token: string,
  workload: Workload,
  { keys, issuer, now = Date.now }: GatewayAssertionOptions
): Promise<GatewayAssertion> {
  const { payload } = await jwtVerify(token, keys, {
    currentDate: new Date(now()),
    issuer,
    audience: workload,
    typ: ASSERTION_TYPE,
    algorithms: ['EdDSA'],
    maxTokenAge: '5m',
    requiredClaims: [...STRING_CLAIMS, 'accessLevel']
  })
  for (const claim of STRING_CLAIMS) {
    if (typeof payload[claim] !== 'string') throw new TypeError(`assertion claim ${claim} is not a string`)
  }
  if (!ACCESS_LEVELS.includes(payload.accessLevel as AccessLevel)) throw new TypeError('assertion claim accessLevel is unknown')
  return payload as unknown as GatewayAssertion
}

/**
 * The `onRequest` hook of a mock service: 401 without a valid assertion for `workload`, 403 when
 * the assertion was issued for another tenant than the `:tenantId` of the path.
 */
export function gatewayAssertionGuard (workload: Workload, options: GatewayAssertionOptions) {
  return async function requireGatewayAssertion (request: FastifyRequest, reply: FastifyReply) {
    const token = request.headers[ASSERTION_HEADER]
    if (typeof token !== 'string' || token === '') {
      return reply.code(401).send({ error: 'assertion required' })
    }
    let assertion: GatewayAssertion
    try {
      assertion = await verifyGatewayAssertion(token, workload, options)
    } catch (err) {
      // The reason stays in the log: a caller learns only that the assertion was refused.
      request.log.info({ err }, 'gateway assertion refused')
      return reply.code(401).send({ error: 'assertion invalid' })
    }
    const { tenantId } = request.params as { tenantId: string }
    if (assertion.tenantId !== tenantId) {
      return reply.code(403).send({ error: 'assertion is for another tenant' })
    }
    if (options.approverKeys !== undefined) {
      let refusal: string | null
      try {
        refusal = await approvalRefusal(assertion, workload, options.approverKeys, (options.windowNow ?? Date.now)())
      } catch (err) {
        // Keys that cannot be read prove nothing: fail closed.
        request.log.warn({ err }, 'approver keys unavailable')
        return reply.code(503).send({ error: 'approver keys unavailable' })
      }
      if (refusal !== null) {
        request.log.info({ refusal, requestId: assertion.requestId }, 'approval not proven')
        return reply.code(403).send({ error: 'approval not proven' })
      }
    }
  }
}
