import { expect } from 'chai'
import type { Express } from 'express'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { Agent, createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { decodeWith } from '../../lib/core/decode.js'
import { problemOf } from '../helpers/deliver.js'
import { musementDateTime, rfc3339DateTime, uuid } from './arbitraries.js'
import { PATH, pick, REMOVE, SECRETS, setAt, TARGETS, targetApp, type Path, type Target } from './targets.js'

// Property tests against every partner. The seed is chosen once per run (or taken from FC_SEED) and is in the suite's
// title; on a failure fast-check also prints the seed and path that replay the counterexample.
const SEED = process.env.FC_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FC_SEED)
const IN_PROCESS_RUNS = 300
const HTTP_RUNS = 200
const settings = (numRuns: number) => ({ seed: SEED, numRuns })

/** The package's own decoding entry point on a copy of `wire` (decodeWith may turn -0 into 0 in place). */
const decodeCopy = (target: Target, wire: unknown): E.Either<unknown, unknown> => decodeWith(target.codec)(structuredClone(wire))

/** The event `wire` decodes to, and that event encoded back to its wire form. */
const encoded = (target: Target, wire: unknown): { readonly event: unknown; readonly encoded: unknown } => {
  const decoded = decodeWith(target.codec)(structuredClone(wire))
  if (E.isLeft(decoded)) throw new Error(`the generator made an invalid body: ${JSON.stringify(decoded.left)}`)
  return { event: decoded.right, encoded: target.encode(decoded.right) }
}

// ---- Arbitrary JSON: anything, and valid bodies mutated field by field ----

const leafPaths = (value: unknown, path: Path = []): Path[] =>
  typeof value === 'object' && value !== null && (!Array.isArray(value) || value.length > 0)
    ? Object.entries(value).flatMap(([k, v]) => [[...path, Array.isArray(value) ? Number(k) : k], ...leafPaths(v, [...path, Array.isArray(value) ? Number(k) : k])])
    : []

const nearValid = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.stringMatching(/^[0-9]{1,20}$/),
  fc.constantFrom('', ' ', '-1', '1e3', '0x1f', '9007199254740992', 'OK', 'ok', 'open', 'SHIPPED', 'order_items.shipped', 'order_items.unknown', '__proto__'),
  fc.constantFrom(0, -0, 1, -1, 1.5, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER, 1e308, -1e308, 5e-324, null, true, [], {}),
  musementDateTime.map((d) => d.text),
  rfc3339DateTime.map((d) => d.text),
  uuid,
  fc.string({ unit: 'binary', minLength: 250, maxLength: 260 })
)

/**
 * A valid body with 1-4 edits: a field replaced, removed, or a sibling key (`__proto__` among them) added, or a field
 * moved into a `__proto__` sibling (where io-ts alone would still find it, as an inherited value).
 */
const mutated = (target: Target): fc.Arbitrary<unknown> => {
  const base = target.validBody()
  const paths = leafPaths(base)
  const edit = fc.tuple(fc.constantFrom(...paths), fc.constantFrom('replace', 'remove', 'add', 'hide'), nearValid, fc.constantFrom('__proto__', 'constructor', 'prototype', 'extra', 'event', 'id'))
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) =>
    edits.reduce<unknown>((body, [path, action, value, key]) => {
      const parent = path.slice(0, -1)
      const last = path[path.length - 1] ?? ''
      try {
        if (action === 'replace') return setAt(body, path, value)
        if (action === 'remove') return setAt(body, path, REMOVE)
        if (action === 'hide') return setAt(setAt(body, path, REMOVE), [...parent, '__proto__'], Object.fromEntries([[String(last), pick(body, path)]]))
        return setAt(body, [...parent, key], value)
      } catch {
        return body // an earlier edit removed or replaced the object this path goes through
      }
    }, base)
  )
}

/** Every object in an event is a plain object, an array or a Date: nothing inherits members from elsewhere. */
const expectPlain = (event: unknown): void => {
  const plain = new Set<unknown>([Object.prototype, Array.prototype, Date.prototype])
  for (const stack: unknown[] = [event]; stack.length > 0; ) {
    const v = stack.pop()
    if (typeof v !== 'object' || v === null) continue
    expect(plain.has(Object.getPrototypeOf(v)), `an object with a foreign prototype in ${JSON.stringify(event)}`).to.equal(true)
    stack.push(...Object.values(v))
  }
}

// ---- One HTTP server for the whole file; each run gets a fresh app (so a fresh delivery store) ----

interface Answer {
  readonly status: number
  readonly contentType: string | undefined
  readonly text: string
}

describe(`hostile/properties (FC_SEED=${SEED})`, function () {
  let current: Express | undefined
  let server: Server
  let port = 0
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => void unhandled.push(reason)

  before(async () => {
    process.on('unhandledRejection', onUnhandled)
    server = createServer((req, res) => {
      if (current === undefined) res.writeHead(500).end()
      else current(req, res)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const address: AddressInfo | string | null = server.address()
    if (address === null || typeof address === 'string') throw new Error('expected a TCP address')
    port = address.port
  })

  after(async () => {
    agent.destroy()
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    process.off('unhandledRejection', onUnhandled)
    expect(unhandled).to.deep.equal([])
  })

  const post = (target: Target, text: string): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const [name, value] = target.auth
      const headers = { [name]: value, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) }
      const req = request({ agent, host: '127.0.0.1', port, path: PATH, method: 'POST', headers }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], text: Buffer.concat(chunks).toString('utf8') }))
      })
      req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')))
      req.on('error', reject)
      req.end(text)
    })

  /** Sends `text` to a fresh app for `target`; returns the answer and what the app saw. */
  const deliver = async (target: Target, text: string) => {
    const { app, rec } = targetApp(target)
    current = app
    const answer = await post(target, text)
    expect(rec.errors, 'nothing may reach the error handler').to.deep.equal([])
    const seen = [answer.text, JSON.stringify(rec.rejections), JSON.stringify(rec.outcomes)].join('\n')
    for (const secret of SECRETS) expect(seen.includes(secret), 'a credential leaked').to.equal(false)
    return { answer, rec }
  }

  describe('(a) any JSON body: 200 only for what the codec accepts, and the handler sees only decoded events', () => {
    for (const target of TARGETS) {
      for (const [name, arbitrary] of [
        ['fc.jsonValue()', fc.jsonValue()],
        ['a valid body mutated field by field', mutated(target)]
      ] as const) {
        it(`${target.name}: ${name}`, async () => {
          let accepted = 0
          await fc.assert(
            fc.asyncProperty(arbitrary, async (value) => {
              const text = JSON.stringify(value)
              const { answer, rec } = await deliver(target, text)
              const codec = target.codec.decode(JSON.parse(text))
              const pipeline = decodeWith(target.codec)(JSON.parse(text))
              if (answer.status === 200) {
                accepted++
                // The codec accepts it, and the handler got exactly the codec's reading of it.
                expect(E.isRight(codec) && E.isRight(pipeline), text).to.equal(true)
                expect(rec.events).to.deep.equal([E.isRight(codec) ? codec.right : 'no event'])
                expectPlain(rec.events[0])
                expect(target.is(rec.events[0]), 'the event has its declared type').to.equal(true)
                expect(JSON.parse(answer.text)).to.deep.equal({ status: 'processed' })
                expect(rec.rejections).to.deep.equal([])
              } else {
                expect(E.isLeft(pipeline), `refused ${answer.status} although decodeWith accepts: ${text}`).to.equal(true)
                expect(answer.status).to.equal(400)
                expect(answer.contentType).to.match(/^application\/problem\+json/)
                expect(Buffer.byteLength(answer.text)).to.be.below(4096)
                expect(problemOf({ status: answer.status, headers: {}, text: answer.text }).type).to.equal('webhook.payload.invalid')
                expect(rec.events, 'the handler must not run').to.deep.equal([])
                expect(rec.rejections.map((r) => r.type)).to.deep.equal(['webhook.payload.invalid'])
              }
            }),
            settings(HTTP_RUNS)
          )
          if (name !== 'fc.jsonValue()') expect(accepted, 'some mutated bodies stay valid').to.be.above(0)
        })
      }
    }
  })

  describe('(b) valid events: decode, encode, send; the handler receives an equal event', () => {
    for (const target of TARGETS) {
      it(`${target.name}: in process, ${IN_PROCESS_RUNS} runs (decode, encode, JSON, decode)`, () => {
        fc.assert(
          fc.property(target.wire, ({ wire, meant }) => {
            const original = encoded(target, wire)
            meant(original.event)
            expect(decodeCopy(target, JSON.parse(JSON.stringify(original.encoded)))).to.deep.equal(E.right(original.event))
          }),
          settings(IN_PROCESS_RUNS)
        )
      })

      it(`${target.name}: over HTTP, ${HTTP_RUNS} runs (encode, send, handler)`, async () => {
        await fc.assert(
          fc.asyncProperty(target.wire, async ({ wire }) => {
            const original = encoded(target, wire)
            const { answer, rec } = await deliver(target, JSON.stringify(original.encoded))
            expect(answer.status, answer.text).to.equal(200)
            expect(rec.events).to.deep.equal([original.event])
            expectPlain(rec.events[0])
            expect(target.is(rec.events[0])).to.equal(true)
            // The wire form the partner sent (not re-encoded) reaches the handler as the same event too.
            const raw = await deliver(target, JSON.stringify(wire))
            expect(raw.rec.events).to.deep.equal([original.event])
          }),
          settings(HTTP_RUNS)
        )
      })
    }
  })
})
