// The hostile client of bench:hostile, in a process of its own so that driving the flood takes no
// time from the event loop that measures the engineer's latency. Usage:
// node dist/bench/flood.js <base url> <requests> <connections> <authorization>; prints autocannon's result as JSON.
import autocannon from 'autocannon'

const [url, requests, connections, authorization] = process.argv.slice(2) as [string, string, string, string]
let n = 0
const result = await autocannon({
  url,
  connections: Number(connections),
  amount: Number(requests),
  headers: { authorization },
  // Attacker-chosen paths, a new one every request, as in the report.
  requests: [{ setupRequest: (request) => ({ ...request, path: `/exchange/contoso/mailboxes/victim${n++}@contoso.com/messages/${'x'.repeat(64)}` }) }]
})
process.stdout.write(JSON.stringify({ duration: result.duration, statusCodeStats: result.statusCodeStats, errors: result.errors, timeouts: result.timeouts }))
