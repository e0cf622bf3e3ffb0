// The shapes of the gateway's answers that the CLI reads (API.md §2, §3, §6; GET /v1/me): the
// `Static<>` types of the API's own schemas, so they cannot drift from what the gateway sends.
import type { ChainVerification as CurrentChainVerification } from '../routes/api-types.js'

export type { AuditRecord, Delegation, Grant, HistoryEntry, IssuedToken, LockboxRequest, Me, Page, ServiceRequest } from '../routes/api-types.js'

type LaterChecks = 'invariantViolations' | 'invariantViolationCount' | 'stateMismatches'
/** A chain verification, from this gateway or an older one (which leaves out the later checks). */
export type ChainVerification = Omit<CurrentChainVerification, LaterChecks> & Partial<Pick<CurrentChainVerification, LaterChecks>>
