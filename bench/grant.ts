// Walks one lockbox request to Approved over the gateway's HTTP API with dev identity tokens, and
// returns its access token: what an engineer holds when they reach content.
async function call (base: string, method: string, path: string, token: string | null, body?: unknown): Promise<any> {
  const res = await fetch(base + path, {
    method,
    headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return text === '' ? null : JSON.parse(text)
}

/** A dev identity token of `user`. */
export async function identityToken (base: string, user: string): Promise<string> {
  return (await call(base, 'POST', '/dev/token', null, { user })).token
}

export async function accessToken (base: string, scope = '/mailboxes/alice@contoso.com', tenant = 'contoso'): Promise<string> {
  const who = async (user: string): Promise<string> => await identityToken(base, user)
  const [engineer, manager, customer, approver] = await Promise.all(['eng-ada', 'mgr-carol', `${tenant}-user`, `${tenant}-approver`].map(who)) as [string, string, string, string]
  const sr = await call(base, 'POST', `/v1/tenants/${tenant}/service-requests`, customer, { title: 'Mail flow broken', description: 'Messages bounce' })
  const request = await call(base, 'POST', '/v1/requests', engineer, {
    tenantId: tenant, serviceRequestNumber: sr.number, workload: 'exchange', duration: 'PT4H', justification: 'Benchmark', scope
  })
  await call(base, 'POST', `/v1/requests/${request.id as string}/review`, manager, { decision: 'Approve' })
  await call(base, 'POST', `/v1/requests/${request.id as string}/decision`, approver, { decision: 'Approve' })
  return (await call(base, 'POST', `/v1/requests/${request.id as string}/token`, engineer)).accessToken
}
