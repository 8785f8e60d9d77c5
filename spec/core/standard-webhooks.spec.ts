import { expect } from 'chai'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import type { IncomingHttpHeaders } from 'node:http'
import { Webhook, WebhookVerificationError } from 'standardwebhooks'
import type { Problem } from '../../lib/core/problem.js'
import { standardWebhooksAuth, type StandardWebhooksAuthOptions } from '../../lib/core/standard-webhooks.js'
import { definePartner } from '../../lib/define-partner.js'

// Checked against the specification's reference JS library (npm `standardwebhooks`) and the test vectors its
// libraries publish. The seed is in the suite's title; FC_SEED replays a run.
const SEED = process.env.FC_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FC_SEED)
const RUNS = 300

// The vector every library of standard-webhooks/standard-webhooks@b2fa7b8 tests `sign` with (javascript, python,
// go, java, php, ruby, csharp: "sign function works"), and the one of libraries/rust (`test_sign`).
const VECTORS = [
  {
    source: 'libraries/{javascript,python,go,java,php,ruby,csharp} tests',
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestamp: 1614265330,
    payload: '{"test": 2432232314}',
    signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
  },
  {
    source: 'libraries/rust/src/lib.rs test_sign',
    secret: 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD',
    id: 'msg_27UH4WbU6Z5A5EzD8u03UvzRbpk',
    timestamp: 1649367553,
    payload: '{"email":"test@example.com","username":"test_user"}',
    signature: 'v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw='
  }
] as const
const [VECTOR] = VECTORS

type Headers = Readonly<Record<string, string>>

const fails = (problem: string, field?: string): never => {
  throw new TypeError(field === undefined ? problem : `${field} ${problem}`)
}

/** Our verdict on a whole delivery, the order the pipeline runs: headers, then the raw body. */
const ours = (secrets: ReadonlyArray<string>, headers: IncomingHttpHeaders, body: Uint8Array, clockMs: number, options: StandardWebhooksAuthOptions = {}): E.Either<Problem, void> => {
  const scheme = standardWebhooksAuth({ ...options, now: () => clockMs })
  const verifier = scheme.verifier(secrets.map((s) => scheme.check(s, fails)), 'acme')
  const headersChecked = verifier.checkHeaders(headers)
  if (E.isLeft(headersChecked) || verifier.checkBody === undefined) return headersChecked
  return verifier.checkBody(body, headers)
}
const verdict = (result: E.Either<Problem, void>): string => (E.isLeft(result) ? result.left.type : 'accepted')
const detail = (result: E.Either<Problem, void>): string => (E.isLeft(result) ? (result.left.detail ?? '') : '')

/** The reference library's verdict with its clock (Date.now) set to `clockMs`: true if `verify` accepts. */
const reference = (secret: string, headers: Headers, body: Buffer, clockMs: number): boolean => {
  const realNow = Date.now
  Date.now = () => clockMs
  try {
    new Webhook(secret).verify(body, { ...headers }, { jsonParse: false })
    return true
  } catch (error) {
    if (error instanceof WebhookVerificationError) return false
    throw error
  } finally {
    Date.now = realNow
  }
}

/** Headers as the reference library's `sign` makes them: what a sender using it puts on the wire. */
const signedByReference = (secret: string, id: string, seconds: number, body: Buffer): Headers => ({
  'webhook-id': id,
  'webhook-timestamp': String(seconds),
  'webhook-signature': new Webhook(secret).sign(id, new Date(seconds * 1000), body)
})

const secretOf = (key: Uint8Array): string => `whsec_${Buffer.from(key).toString('base64')}`
const keyArb = fc.uint8Array({ minLength: 24, maxLength: 64 }).map(secretOf)
const idArb = fc.string({ minLength: 1, maxLength: 40, unit: 'binary' })
const bodyArb = fc.oneof(fc.json(), fc.string({ maxLength: 300, unit: 'binary' })).map((s) => Buffer.from(s, 'utf8'))
const secondsArb = fc.integer({ min: 0, max: 4_000_000_000 })
const messageOf = (f: () => unknown): string => {
  try {
    f()
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
  throw new Error('expected a throw')
}
const without = (headers: Headers, name: string): Headers => Object.fromEntries(Object.entries(headers).filter(([k]) => k !== name))

describe(`core/standard-webhooks (fast-check seed ${SEED})`, () => {
  const settings = { seed: SEED, numRuns: RUNS }

  describe('the test vectors published with the specification', () => {
    for (const v of VECTORS) {
      it(`signs and verifies ${v.source}`, () => {
        const body = Buffer.from(v.payload, 'utf8')
        const headers = standardWebhooksAuth().authorize(v.secret, { body, id: v.id, timestamp: v.timestamp })
        expect(headers).to.deep.equal({ 'webhook-id': v.id, 'webhook-timestamp': String(v.timestamp), 'webhook-signature': v.signature })
        // "verification works with and without signature prefix"
        for (const secret of [v.secret, v.secret.slice('whsec_'.length)]) {
          expect(verdict(ours([secret], headers, body, v.timestamp * 1000)), secret).to.equal('accepted')
        }
      })
    }

    it('refuses the published wrong and partial signatures, and accepts the published multi-signature lists', () => {
      const body = Buffer.from(VECTOR.payload, 'utf8')
      const at = (signature: string): string =>
        verdict(ours([VECTOR.secret], { 'webhook-id': VECTOR.id, 'webhook-timestamp': String(VECTOR.timestamp), 'webhook-signature': signature }, body, VECTOR.timestamp * 1000))
      // python test_invalid_signature, ruby/csharp, javascript "invalid signature", "partial signature"
      for (const wrong of ['v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=', 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLawdd', 'v1,dawfeoifkpqwoekfpqoekf', VECTOR.signature.slice(0, 8), 'v1,']) {
        expect(at(wrong), wrong).to.equal('webhook.auth.invalid')
      }
      // javascript "multi sig payload is valid" (v2 entries, other v1 signatures) and rust test_verify_with_multiple_signatures
      const others = ['v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=', 'v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=', 'v1,tFtCZ5RDCPxzWQRWXWPgrCgE2frDBe9gjpbWQxnVfsQ=', 'v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q=']
      expect(at([...others, VECTOR.signature, 'v1,9DfC1c3eeOrXB6w/5dIDydLNQaEyww5KalE5jLBZucE='].join(' '))).to.equal('accepted')
      expect(at([...others, 'v1,9DfC1c3eeOrXB6w/5dIDydLNQaEyww5KalE5jLBZucE='].join(' '))).to.equal('webhook.auth.invalid')
    })

    it("parses the specification's example header (a v1 and a v1a entry)", () => {
      // spec/standard-webhooks.md §webhook headers; no secret is published for it, so only its form is checked.
      const headers = {
        'webhook-id': 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
        'webhook-timestamp': '1674087231',
        'webhook-signature':
          'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg=='
      }
      const verifier = standardWebhooksAuth({ now: () => 1674087231_000 }).verifier([VECTOR.secret], 'acme')
      expect(verdict(verifier.checkHeaders(headers))).to.equal('accepted')
    })
  })

  describe('against the reference library', () => {
    const secret = VECTOR.secret
    const now = 1_700_000_000
    const body = Buffer.from('{"type":"order.paid","data":{"id":"1f81eb52"}}', 'utf8')
    const signed = signedByReference(secret, 'msg_1', now, body)
    const check = (headers: Headers, bytes = body, clockMs = now * 1000, secrets: ReadonlyArray<string> = [secret]) => ours(secrets, headers, bytes, clockMs)

    it('accepts a delivery it signs', () => {
      expect(verdict(check(signed))).to.equal('accepted')
      expect(reference(secret, signed, body, now * 1000)).to.equal(true)
    })

    it('refuses a changed byte, a wrong secret, and a changed id or timestamp', () => {
      for (let i = 0; i < body.length; i += 7) {
        const tampered = Buffer.from(body)
        tampered[i] = (tampered[i] ?? 0) ^ 0x01
        expect(verdict(check(signed, tampered)), `byte ${i}`).to.equal('webhook.auth.invalid')
      }
      expect(verdict(check(signed, body, now * 1000, [secretOf(Buffer.alloc(32, 7))]))).to.equal('webhook.auth.invalid')
      expect(verdict(check({ ...signed, 'webhook-id': 'msg_2' }))).to.equal('webhook.auth.invalid')
      expect(verdict(check({ ...signed, 'webhook-timestamp': String(now + 1) }))).to.equal('webhook.auth.invalid')
    })

    it('refuses a timestamp outside the tolerance either way, at the same bounds as the reference', () => {
      for (const [skew, accepted] of [[-301, false], [-300, true], [300, true], [301, false]] as const) {
        const clockMs = (now - skew) * 1000
        expect(verdict(check(signed, body, clockMs)), `${skew} s`).to.equal(accepted ? 'accepted' : 'webhook.auth.invalid')
        expect(reference(secret, signed, body, clockMs), `reference, ${skew} s`).to.equal(accepted)
      }
      expect(detail(check(signed, body, (now + 301) * 1000))).to.equal('webhook-timestamp is more than 300 s in the past')
      expect(detail(check(signed, body, (now - 301) * 1000))).to.equal('webhook-timestamp is more than 300 s in the future')
      const short = ours([secret], signed, body, (now + 61) * 1000, { toleranceSeconds: 60 })
      expect(detail(short)).to.equal('webhook-timestamp is more than 60 s in the past')
      expect(verdict(ours([secret], signed, body, (now + 60) * 1000, { toleranceSeconds: 60 }))).to.equal('accepted')
    })

    it('refuses a delivery missing any of the three headers (or with one empty), naming it', () => {
      for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
        expect(verdict(check(without(signed, name))), name).to.equal('webhook.auth.missing')
        expect(detail(check(without(signed, name))), name).to.equal(`missing header ${name}`)
        expect(verdict(check({ ...signed, [name]: '' })), name).to.equal('webhook.auth.missing')
        expect(reference(secret, without(signed, name), body, now * 1000), name).to.equal(false)
      }
      expect(detail(check({}))).to.equal('missing headers webhook-id, webhook-timestamp, webhook-signature')
    })

    it('refuses a malformed timestamp or signature list, saying which', () => {
      for (const timestamp of ['now', '1.5', '-1', '+1700000000', '0x10', '1e9', '01700000000', '1700000000 ']) {
        expect(detail(check({ ...signed, 'webhook-timestamp': timestamp })), timestamp).to.equal('webhook-timestamp must be whole seconds since the epoch')
      }
      const valid = signed['webhook-signature'] ?? ''
      for (const list of ['v1', 'v1,', ',abc=', 'nonsense', `${valid},extra`, `${valid}, v1a,abc`, `v1:${valid.slice(3)}`, 'v1,not base64!']) {
        expect(detail(check({ ...signed, 'webhook-signature': list })), list).to.equal(
          'webhook-signature must be a space-separated list of <version>,<base64> entries'
        )
      }
      expect(detail(check({ ...signed, 'webhook-signature': `v1a,${valid.slice(3)} v2,${valid.slice(3)}` }))).to.equal('webhook-signature has no v1 (HMAC-SHA256) entry')
      // The case of the version matters, as in the reference library: `V1` is another version.
      expect(detail(check({ ...signed, 'webhook-signature': `V1,${valid.slice(3)}` }))).to.equal('webhook-signature has no v1 (HMAC-SHA256) entry')
    })

    it('is stricter than the reference library only on headers no conforming sender writes', () => {
      // The reference reads the timestamp with parseInt and skips any entry that is not `v1,<value>`; these headers
      // pass there and are refused here, each as malformed.
      const valid = signed['webhook-signature'] ?? ''
      const stricter: ReadonlyArray<Headers> = [
        { ...signed, 'webhook-timestamp': `0${now}` },
        { ...signed, 'webhook-timestamp': `${now}abc` },
        { ...signed, 'webhook-signature': `${valid},extra` },
        { ...signed, 'webhook-signature': `garbage ${valid}` }
      ]
      for (const headers of stricter) {
        expect(reference(secret, headers, body, now * 1000), JSON.stringify(headers)).to.equal(true)
        expect(verdict(check(headers)), JSON.stringify(headers)).to.equal('webhook.auth.invalid')
      }
    })

    it('accepts every secret of a rotation, and a list of several signatures of which one is valid', () => {
      const next = secretOf(Buffer.alloc(32, 9))
      const byNext = signedByReference(next, 'msg_1', now, body)
      expect(verdict(check(signed, body, now * 1000, [secret, next]))).to.equal('accepted')
      expect(verdict(check(byNext, body, now * 1000, [secret, next]))).to.equal('accepted')
      expect(verdict(check(byNext))).to.equal('webhook.auth.invalid')
      const forged = signedByReference(secretOf(Buffer.alloc(32, 1)), 'msg_1', now, body)['webhook-signature'] ?? ''
      const list = `${forged} v1a,${forged.slice(3)} ${byNext['webhook-signature'] ?? ''}`
      expect(verdict(check({ ...signed, 'webhook-signature': list }, body, now * 1000, [secret, next]))).to.equal('accepted')
      expect(verdict(check({ ...signed, 'webhook-signature': list }))).to.equal('webhook.auth.invalid')
      expect(verdict(check({ ...signed, 'webhook-signature': forged }, body, now * 1000, [secret, next]))).to.equal('webhook.auth.invalid')
    })

    it(`accepts what the reference signs, over ${RUNS} random secrets, ids, timestamps and bodies`, () => {
      fc.assert(
        fc.property(keyArb, idArb, secondsArb, bodyArb, fc.integer({ min: -300, max: 300 }), (key, id, seconds, bytes, skew) => {
          const headers = signedByReference(key, id, seconds, bytes)
          expect(verdict(ours([key], headers, bytes, (seconds + skew) * 1000))).to.equal('accepted')
        }),
        settings
      )
    })

    it(`signs (authorize) what the reference verifies and signs alike, over ${RUNS} random secrets, ids, timestamps and bodies`, () => {
      const scheme = standardWebhooksAuth()
      fc.assert(
        fc.property(keyArb, idArb, secondsArb, bodyArb, (key, id, seconds, bytes) => {
          const headers = scheme.authorize(key, { body: bytes, id, timestamp: seconds })
          expect(headers).to.deep.equal(signedByReference(key, id, seconds, bytes))
          expect(reference(key, headers, bytes, seconds * 1000)).to.equal(true)
        }),
        settings
      )
    })

    type Mutation = (d: { headers: Headers; body: Buffer; clockMs: number; secret: string }) => { headers: Headers; body: Buffer; clockMs: number; secret: string }
    const mutations: ReadonlyArray<fc.Arbitrary<Mutation>> = [
      fc.constant((d) => d),
      fc.integer({ min: -310_000, max: 310_000 }).map((ms) => (d) => ({ ...d, clockMs: d.clockMs + ms })),
      fc.nat().map((i) => (d) => {
        const text = d.body.toString('utf8')
        const at = text.length === 0 ? 0 : i % text.length
        return { ...d, body: Buffer.from(`${text.slice(0, at)}${text[at] === 'x' ? 'y' : 'x'}${text.slice(at + 1)}`, 'utf8') }
      }),
      fc.constantFrom('webhook-id', 'webhook-timestamp', 'webhook-signature').map((name) => (d) => ({ ...d, headers: without(d.headers, name) })),
      fc.constantFrom('webhook-id', 'webhook-timestamp', 'webhook-signature').map((name) => (d) => ({ ...d, headers: { ...d.headers, [name]: '' } })),
      fc.string({ minLength: 1, maxLength: 3 }).map((s) => (d) => ({ ...d, headers: { ...d.headers, 'webhook-id': `${d.headers['webhook-id'] ?? ''}${s}` } })),
      fc.integer({ min: -400, max: 400 }).map((n) => (d) => ({ ...d, headers: { ...d.headers, 'webhook-timestamp': String(Math.max(0, Number(d.headers['webhook-timestamp']) + n)) } })),
      keyArb.map((other) => (d) => ({ ...d, secret: other })),
      fc.integer({ min: 4, max: 44 }).map((n) => (d) => ({ ...d, headers: { ...d.headers, 'webhook-signature': (d.headers['webhook-signature'] ?? '').slice(0, n) } })),
      fc
        .tuple(fc.array(fc.tuple(fc.constantFrom('v1', 'v1a', 'v2'), fc.uint8Array({ minLength: 1, maxLength: 64 })), { maxLength: 4 }), fc.boolean(), fc.integer({ min: 1, max: 3 }))
        .map(([extra, keep, spaces]) => (d) => {
          const entries = extra.map(([version, bytes]) => `${version},${Buffer.from(bytes).toString('base64')}`)
          const list = [...entries, ...(keep ? [d.headers['webhook-signature'] ?? ''] : [])].join(' '.repeat(spaces))
          return { ...d, headers: { ...d.headers, 'webhook-signature': list } }
        })
    ]

    it(`gives the reference library's verdict on ${RUNS * 2} signed deliveries, each changed at most once`, () => {
      fc.assert(
        fc.property(keyArb, idArb, secondsArb, bodyArb, fc.oneof(...mutations), (key, id, seconds, bytes, mutate) => {
          const d = mutate({ headers: signedByReference(key, id, seconds, bytes), body: bytes, clockMs: seconds * 1000 + 500, secret: key })
          const ourVerdict = verdict(ours([d.secret], d.headers, d.body, d.clockMs))
          expect(ourVerdict === 'accepted', ourVerdict).to.equal(reference(d.secret, d.headers, d.body, d.clockMs))
          expect(ourVerdict).to.be.oneOf(['accepted', 'webhook.auth.missing', 'webhook.auth.invalid'])
        }),
        { ...settings, numRuns: RUNS * 2 }
      )
    })
  })

  describe('secrets', () => {
    const scheme = standardWebhooksAuth()
    const acme = definePartner({ name: 'acme', codec: t.type({ type: t.string }), auth: scheme })
    const handler = async (): Promise<void> => undefined

    it('takes whsec_ secrets with or without the prefix, padded or not, each as the reference library decodes it', () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.boolean(), fc.boolean(), (key, prefixed, padded) => {
          const encoded = Buffer.from(key).toString('base64')
          const secret = `${prefixed ? 'whsec_' : ''}${padded ? encoded : encoded.replace(/=+$/, '')}`
          const refAccepts = (() => {
            try {
              return new Webhook(secret) instanceof Webhook
            } catch {
              return false
            }
          })()
          const accepted = (() => {
            try {
              return scheme.check(secret, fails) === secret
            } catch {
              return false
            }
          })()
          expect(accepted, secret).to.equal(refAccepts)
          if (!accepted) return
          const request = { body: Buffer.from('{}'), id: 'msg', timestamp: 1 }
          expect(scheme.authorize(secret, request)['webhook-signature']).to.equal(new Webhook(secret).sign('msg', new Date(1000), '{}'))
        }),
        settings
      )
    })

    it('accepts no string the reference library refuses, and decodes every one it accepts to the same key', () => {
      const chars = [...'ABCQRSUabcdwxyz0189+/=', '-', '_', ' ', '!', '.']
      fc.assert(
        fc.property(fc.boolean(), fc.string({ maxLength: 12, unit: fc.constantFrom(...chars) }), (prefixed, text) => {
          const secret = `${prefixed ? 'whsec_' : ''}${text}`
          let ok = true
          try {
            scheme.check(secret, fails)
          } catch {
            ok = false
          }
          if (!ok) return
          expect(scheme.authorize(secret, { body: Buffer.from('x'), id: 'i', timestamp: 2 })['webhook-signature'], secret).to.equal(
            new Webhook(secret).sign('i', new Date(2000), 'x')
          )
        }),
        settings
      )
    })

    it('refuses damaged secrets the reference library shortens silently, and says what a secret looks like', () => {
      for (const secret of ['QUJD!', 'QUJDR', 'QUJD=', 'whsec_QUJD==']) {
        expect(new Webhook(secret), secret).to.be.instanceOf(Webhook)
        expect(() => scheme.check(secret, fails), secret).to.throw(TypeError, /must be 'whsec_' followed by base64/)
      }
      for (const secret of ['', 'whsec_']) expect(() => scheme.check(secret, fails), secret).to.throw(TypeError, /is empty after 'whsec_'/)
      for (const secret of ['whsec_abc-def_', 'WHSEC_QUJD', 'QQ', 'whsec_QUI', 'whsec_QUJD===']) {
        expect(() => scheme.check(secret, fails), secret).to.throw(TypeError, /must be 'whsec_' followed by base64/)
      }
      expect(() => scheme.check(' whsec_QUJD', fails)).to.throw(TypeError, /whitespace/)
      expect(() => scheme.check('whsec_QUJD\n', fails)).to.throw(TypeError, /whitespace/)
      expect(() => scheme.check(42, fails)).to.throw(TypeError, /must be a string/)
    })

    it('names the option and the entry at factory time, without echoing the secret', () => {
      expect(() => acme({ secrets: 'whsec_s3cr3t!', handler })).to.throw(TypeError, /^acme: `secrets` must be 'whsec_' followed by base64/)
      expect(messageOf(() => acme({ secrets: 'whsec_s3cr3t!', handler }))).not.to.include('s3cr3t')
      expect(() => acme({ secrets: [VECTOR.secret, 'whsec_'], handler })).to.throw(TypeError, /^acme: `secrets\[1\]` is empty after 'whsec_'/)
      expect(() => acme({ secrets: [], handler })).to.throw(TypeError, /`secrets` is empty: pass at least one 'whsec_…' secret/)
      // @ts-expect-error: secrets are required unless authentication is disabled loudly
      expect(() => acme({ handler })).to.throw(TypeError, /`secrets` is required: pass one 'whsec_…' secret \(or a list, to rotate them\)/)
      expect(acme({ secrets: [VECTOR.secret, VECTORS[1].secret], handler })).to.be.a('function')
    })
  })

  describe('options', () => {
    it('refuses a tolerance that is not a positive whole number of seconds, a clock that is not a function, and unknown options', () => {
      for (const toleranceSeconds of [0, -1, 1.5, Number.NaN]) {
        expect(() => standardWebhooksAuth({ toleranceSeconds }), String(toleranceSeconds)).to.throw(
          TypeError,
          /^standardWebhooksAuth: `toleranceSeconds` must be a positive whole number/
        )
      }
      // @ts-expect-error: a string is not a number of seconds
      expect(() => standardWebhooksAuth({ toleranceSeconds: '300' })).to.throw(TypeError, /`toleranceSeconds` must be a positive whole number, got string/)
      // @ts-expect-error: the clock is a function
      expect(() => standardWebhooksAuth({ now: 5 })).to.throw(TypeError, /`now` must be a function returning ms/)
      // @ts-expect-error: a misspelt option
      expect(() => standardWebhooksAuth({ toleranceSecond: 60 })).to.throw(TypeError, /unknown option `toleranceSecond`. Did you mean `toleranceSeconds`\?/)
    })

    it('reads frozen options without changing them, and reads the clock on every request', () => {
      let clockMs = VECTOR.timestamp * 1000
      const options = Object.freeze({ toleranceSeconds: 10, now: () => clockMs })
      const verifier = standardWebhooksAuth(options).verifier([VECTOR.secret], 'acme')
      const headers = { 'webhook-id': VECTOR.id, 'webhook-timestamp': String(VECTOR.timestamp), 'webhook-signature': VECTOR.signature }
      expect(verdict(verifier.checkHeaders(headers))).to.equal('accepted')
      clockMs += 11_000
      expect(verdict(verifier.checkHeaders(headers))).to.equal('webhook.auth.invalid')
      expect(options).to.deep.equal({ toleranceSeconds: 10, now: options.now })
    })

    it('refuses every timestamp when the clock returns something other than a number of ms', () => {
      const verifier = standardWebhooksAuth({ now: () => Number.NaN }).verifier([VECTOR.secret], 'acme')
      const headers = { 'webhook-id': VECTOR.id, 'webhook-timestamp': String(VECTOR.timestamp), 'webhook-signature': VECTOR.signature }
      expect(verdict(verifier.checkHeaders(headers))).to.equal('webhook.auth.invalid')
    })
  })

  describe('the scheme', () => {
    const scheme = standardWebhooksAuth()

    it('redacts webhook-signature, and keys a delivery by partner and webhook-id', () => {
      expect(scheme.redact).to.deep.equal(['webhook-signature'])
      expect(scheme.deliveryKey?.({ 'webhook-id': 'msg_1' }, 'acme')).to.deep.equal({ key: 'acme:msg_1', scope: 'acme:msg_1' })
      expect(scheme.deliveryKey?.({}, 'acme')).to.equal(undefined)
    })

    it('challenges with its own scheme name and the partner as realm, and never echoes a signature', () => {
      const verifier = scheme.verifier([VECTOR.secret], 'acme')
      const published = { 'webhook-id': VECTOR.id, 'webhook-timestamp': String(VECTOR.timestamp), 'webhook-signature': VECTOR.signature }
      const resent = { ...published, 'webhook-timestamp': String(Math.floor(Date.now() / 1000)) }
      const results = [verifier.checkHeaders({}), verifier.checkHeaders(published), verifier.checkBody?.(Buffer.from(VECTOR.payload), resent)]
      expect(results.map((r) => (r === undefined ? 'no checkBody' : verdict(r)))).to.deep.equal(['webhook.auth.missing', 'webhook.auth.invalid', 'webhook.auth.invalid'])
      for (const result of results) {
        expect(result !== undefined && E.isLeft(result) && result.left.headers).to.deep.equal({ 'WWW-Authenticate': 'StandardWebhooks realm="acme"' })
        expect(JSON.stringify(result)).not.to.include(VECTOR.signature.slice(3, 20))
      }
    })
  })
})
