import t, { type Test } from 'tap'
import {
  canonicalJson, ChainVerifier, EMPTY_HEAD, GENESIS_HASH, hashRecord, sealRecord, sealRecordText, sha256Hex,
  type AuditDraft, type AuditRecord, type ChainHead
} from '../../src/domain/audit.js'

const DRAFT: AuditDraft = {
  tenantId: 'contoso',
  operation: 'ContentAccessed',
  result: 'Success',
  actor: { id: 'eng-1', type: 'SupportEngineer' },
  clientIp: '10.0.0.7',
  requestId: 'c2a4d0f6-3b0e-4b4e-9f55-1d2f7b7d9a10',
  workload: 'exchange',
  object: '/mailboxes/alice@contoso.com/messages/42',
  details: { method: 'GET', status: 200 }
}

function chain (length: number, start: ChainHead = EMPTY_HEAD): AuditRecord[] {
  const records: AuditRecord[] = []
  let head = start
  for (let index = 0; index < length; index++) {
    const record = sealRecord({ ...DRAFT, details: { index } }, head, { id: `rec-${head.seq + 1}`, time: new Date(Date.UTC(2025, 5, 2, 8, 0, index)).toISOString() })
    records.push(record)
    head = record
  }
  return records
}

function verify (records: AuditRecord[], start?: ChainHead): ReturnType<ChainVerifier['result']> {
  const verifier = new ChainVerifier(start)
  for (const record of records) verifier.push(record)
  return verifier.result()
}

t.test('canonicalJson', async (t) => {
  t.test('orders keys by UTF-16 code units, non-ASCII keys included (RFC 8785 §3.2.3)', async (t) => {
    const value = Object.fromEntries([
      ['\u20ac', 'Euro Sign'], ['\r', 'Carriage Return'], ['\ufb33', 'Hebrew Letter Dalet With Dagesh'], ['1', 'One'],
      ['\ud83d\ude00', 'Emoji: Grinning Face'], ['\u0080', 'Control'], ['\u00f6', 'Latin Small Letter O With Diaeresis']
    ])
    const keys = [...canonicalJson(value).matchAll(/"([^"]*)":/g)].map((match) => match[1])
    // The emoji (a surrogate pair starting at U+D83D) sorts before U+FB33, which code point order would not do.
    t.same(keys, ['\\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'])
  })

  t.test('writes the RFC 8785 §3.2.2 sample exactly', async (t) => {
    const input = '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}'
    t.equal(canonicalJson(JSON.parse(input)),
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}')
  })

  t.test('writes numbers the way ECMAScript does', async (t) => {
    t.equal(canonicalJson([1e21, -0, 0.1, 1e-7, 100, 1.5e-300, Number.MAX_SAFE_INTEGER, 5e-324, -42.25]),
      '[1e+21,0,0.1,1e-7,100,1.5e-300,9007199254740991,5e-324,-42.25]')
  })

  t.test('canonicalises nested arrays and objects and writes no whitespace', async (t) => {
    t.equal(canonicalJson({ b: [{ d: 1, c: [2, { f: null, e: true }] }, []], a: {}, ' ': 's p' }),
      '{" ":"s p","a":{},"b":[{"c":[2,{"e":true,"f":null}],"d":1},[]]}')
  })

  t.test('drops undefined object members and writes undefined array items as null', async (t) => {
    t.equal(canonicalJson({ a: undefined, b: [undefined, 1], c: 'x' }), '{"b":[null,1],"c":"x"}')
  })

  t.test('refuses non-finite numbers, functions, symbols and undefined', async (t) => {
    for (const value of [NaN, Infinity, -Infinity, { nested: [NaN] }]) {
      t.throws(() => canonicalJson(value), TypeError, String(value))
    }
    for (const value of [() => 1, { f: () => 1 }, [Symbol('s')], undefined]) {
      t.throws(() => canonicalJson(value), { name: 'TypeError', message: /no representation/ })
    }
  })
})

t.test('sha256Hex gives the lowercase hex digest', async (t) => {
  t.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
})

t.test('sealRecord', async (t) => {
  t.test('starts a chain at seq 1 with a prevHash of 64 zeros', async (t) => {
    const record = sealRecord(DRAFT, EMPTY_HEAD, { id: 'rec-1', time: '2025-06-02T08:00:00.000Z' })
    t.equal(GENESIS_HASH, '0'.repeat(64))
    t.match(record, { id: 'rec-1', seq: 1, prevHash: GENESIS_HASH, time: '2025-06-02T08:00:00.000Z', ...DRAFT })
  })

  t.test('hashes the canonical JSON of the record without its hash', async (t) => {
    const record = sealRecord(DRAFT, EMPTY_HEAD, { id: 'rec-1', time: '2025-06-02T08:00:00.000Z' })
    const { hash, ...rest } = record
    t.equal(hash, sha256Hex(canonicalJson(rest)))
    t.equal(hash, hashRecord(rest))
    t.match(hash, /^[0-9a-f]{64}$/)
  })

  t.test('hashes what canonicalJson writes, for missing fields and escaped strings too', async (t) => {
    const draft = { ...DRAFT, object: undefined, details: { note: 'a "quoted"\\path\n', emoji: '\ud83d\ude00', lone: '\ud800' } } as unknown as AuditDraft
    const record = sealRecord(draft, EMPTY_HEAD, { id: 'rec-1', time: '2025-06-02T08:00:00.000Z' })
    const { hash, ...rest } = record
    t.notOk('object' in JSON.parse(canonicalJson(rest)), 'a missing field is left out')
    t.equal(hash, hashRecord(rest))
    const verifier = new ChainVerifier()
    verifier.push(record)
    t.equal(verifier.result().valid, true)
  })

  t.test('continues from the head it is given', async (t) => {
    const [first, second] = chain(2) as [AuditRecord, AuditRecord]
    t.equal(second.seq, 2)
    t.equal(second.prevHash, first.hash)
  })

  t.test('keeps only the fields of a record, copying the actor', async (t) => {
    const draft = { ...DRAFT, extra: 'dropped' } as AuditDraft
    const record = sealRecord(draft, EMPTY_HEAD, { id: 'rec-1', time: '2025-06-02T08:00:00.000Z' })
    t.same(Object.keys(record).sort(), ['actor', 'clientIp', 'details', 'hash', 'id', 'object', 'operation', 'prevHash', 'requestId', 'result', 'seq', 'tenantId', 'time', 'workload'])
    t.not(record.actor, draft.actor)
  })
})

t.test('sealRecordText', async (t) => {
  const FIELDS = { id: 'rec-1', time: '2025-06-02T08:00:00.000Z' }

  /** The text is the whole record's canonical JSON, and the hash is over the record without it. */
  function checkSealed (t: Test, draft: AuditDraft): AuditRecord {
    const { record, text } = sealRecordText(draft, EMPTY_HEAD, FIELDS)
    t.equal(text, canonicalJson(record), 'the text is the canonical JSON of the record')
    const { hash, ...rest } = record
    t.equal(hash, hashRecord(rest), 'the hash is over the record without it')
    t.same(JSON.parse(text), JSON.parse(JSON.stringify(record)), 'the text holds the record')
    t.same(record, sealRecord(draft, EMPTY_HEAD, FIELDS), 'sealRecord seals the same record')
    return record
  }

  t.test('writes plain records in canonical order, whatever order the details were built in', async (t) => {
    checkSealed(t, DRAFT)
    checkSealed(t, { ...DRAFT, details: { status: 200, method: 'GET', accessId: 'a', cutBy: null, completed: true, durationMs: 1.25 } })
    checkSealed(t, { ...DRAFT, details: { z: [{ b: 1, a: [2, { d: null, c: 'x' }] }, []], a: {}, ' ': 's p', m: { y: 1, x: 2 } } })
    checkSealed(t, { ...DRAFT, clientIp: null, requestId: null, workload: null, object: null, details: {} })
    checkSealed(t, { ...DRAFT, details: { note: 'a "quoted"\\path\n', emoji: '\ud83d\ude00', lone: '\ud800', nested: { lone: '\udfff' } } })
  })

  t.test('places the hash before the record id even when the details hold an id of their own', async (t) => {
    const record = checkSealed(t, { ...DRAFT, details: { id: 'rec-1', inner: { id: 'rec-1', ',"id":': ',"id":' } } })
    t.equal(record.details.id, 'rec-1')
  })

  t.test('leaves out missing fields and undefined details, as canonicalJson does', async (t) => {
    const draft = { ...DRAFT, object: undefined, details: { kept: 1, gone: undefined } } as unknown as AuditDraft
    const { text } = sealRecordText(draft, EMPTY_HEAD, FIELDS)
    t.notOk('object' in JSON.parse(text))
    t.same(JSON.parse(text).details, { kept: 1 })
    checkSealed(t, draft)
  })

  t.test('writes values without a plain JSON form through canonicalJson', async (t) => {
    const at = new Date(Date.UTC(2025, 5, 2))
    const record = checkSealed(t, { ...DRAFT, details: { at, list: [at, undefined, 1], map: new Map([['a', 1]]), empty: Object.create(null) as object } })
    t.same(JSON.parse(canonicalJson(record)).details, { at: at.toISOString(), list: [at.toISOString(), null, 1], map: {}, empty: {} })
    const withNullPrototype = Object.assign(Object.create(null) as Record<string, unknown>, { b: 2, a: 1 })
    checkSealed(t, { ...DRAFT, details: { withNullPrototype } })
    // Integer-like keys are enumerated in numeric order: only canonicalJson puts "10" before "9".
    const numbered = checkSealed(t, { ...DRAFT, details: { b: 1, 9: 'nine', 10: 'ten', a: 2 } })
    t.match(canonicalJson(numbered), /"details":\{"10":"ten","9":"nine","a":2,"b":1\}/)
    checkSealed(t, { ...DRAFT, object: undefined, details: { at } } as unknown as AuditDraft)
  })

  t.test('refuses values that have no canonical JSON', async (t) => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, () => 1, Symbol('s'), 10n]) {
      t.throws(() => sealRecordText({ ...DRAFT, details: { bad } }, EMPTY_HEAD, FIELDS), TypeError, String(typeof bad))
      t.throws(() => sealRecordText({ ...DRAFT, details: { list: [bad] } }, EMPTY_HEAD, FIELDS), TypeError, `${typeof bad} in a list`)
    }
  })
})

t.test('ChainVerifier', async (t) => {
  t.test('accepts an intact chain and reports its head', async (t) => {
    const records = chain(5)
    const last = records[4] as AuditRecord
    t.same(verify(records), { valid: true, records: 5, headSeq: 5, headHash: last.hash, firstInvalidSeq: null, invariantViolations: [], invariantViolationCount: 0 })
    t.same(verify([]), { valid: true, records: 0, headSeq: 0, headHash: GENESIS_HASH, firstInvalidSeq: null, invariantViolations: [], invariantViolationCount: 0 })
  })

  t.test('starts from a given head, as after retention', async (t) => {
    const records = chain(5)
    const kept = records.slice(2)
    const pruned = records[1] as AuditRecord
    t.match(verify(kept, { seq: pruned.seq, hash: pruned.hash }), { valid: true, records: 3, headSeq: 5 })
    t.match(verify(kept), { valid: false, firstInvalidSeq: 1 })
  })

  t.test('finds an edited field', async (t) => {
    const records = chain(5)
    records[2] = { ...records[2] as AuditRecord, result: 'Failure' }
    const last = records[1] as AuditRecord
    t.same(verify(records), { valid: false, records: 5, headSeq: 2, headHash: last.hash, firstInvalidSeq: 3, invariantViolations: [], invariantViolationCount: 0 })
  })

  t.test('finds an edited record whose hash was recomputed, at the next link', async (t) => {
    const records = chain(5)
    const { hash: _hash, ...forged } = { ...records[2] as AuditRecord, actor: { id: 'someone-else', type: 'System' as const } }
    records[2] = { ...forged, hash: hashRecord(forged) }
    t.match(verify(records), { valid: false, firstInvalidSeq: 4 })
  })

  t.test('finds a deleted record', async (t) => {
    const records = chain(5)
    records.splice(2, 1)
    t.match(verify(records), { valid: false, records: 4, firstInvalidSeq: 3 })
  })

  t.test('finds two swapped records', async (t) => {
    const records = chain(5)
    const [second, third] = [records[1] as AuditRecord, records[2] as AuditRecord]
    records[1] = third
    records[2] = second
    t.match(verify(records), { valid: false, firstInvalidSeq: 2 })
  })

  t.test('finds a repeated record', async (t) => {
    const records = chain(5)
    records.splice(2, 0, records[1] as AuditRecord)
    t.match(verify(records), { valid: false, records: 6, firstInvalidSeq: 3 })
  })
})

t.test('writes a Date as JSON.stringify does, so a reloaded record still verifies', async (t) => {
  const when = new Date('2026-11-24T09:00:00.000Z')
  t.equal(canonicalJson({ at: when }), '{"at":"2026-11-24T09:00:00.000Z"}')
  t.equal(canonicalJson({ at: when }), canonicalJson(JSON.parse(JSON.stringify({ at: when }))))
})
