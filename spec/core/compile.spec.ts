import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { compileDecoder, compileJsonDecoder, NO_MATCH, withFastPath, type FastPath } from '../../lib/core/compile.js'
import { decodeWith, MAX_LISTED_ERRORS, prepareJson, toFieldProblems } from '../../lib/core/decode.js'
import { invalidPayload, type Problem } from '../../lib/core/problem.js'
import { aboutYouEventCodec, AboutYouShipment } from '../../lib/partners/aboutyou/codec.js'
import { MusementOrderItem } from '../../lib/partners/musement/codec.js'
import { aboutYouOrderItemsFixture, musementOrderItemFixture } from '../../lib/testing/index.js'
import { CODEC_CASES, hasProtoKey, hostile, nearMiss, PARTNER_CASES, USER_CASES, type Case } from './compile-arbitraries.js'

// The compiled decoder must agree with io-ts on every input: the same decoded value (deep-equal, keys in the same
// order) where io-ts decodes, NO_MATCH exactly where io-ts refuses. The seed is in the suite's title; FC_SEED
// replays a run, and on a failure fast-check prints the seed and path of the counterexample.
const SEED = process.env.FC_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FC_SEED)
const RUNS = { valid: 250, nearMiss: 300, json: 150, decodeWith: 250, hostile: 300 } as const

type Codec = t.Decoder<unknown, unknown>

/** The keys of every object in `value`, in order, as a tree (Dates and other leaves are null). */
const keyOrder = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(keyOrder)
    : typeof value === 'object' && value !== null && !(value instanceof Date)
      ? Object.entries(value).map(([k, v]) => [k, keyOrder(v)])
      : null

/** Whether a `-0` is anywhere below `value` (not `value` itself). */
const hasNegativeZeroBelow = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && !(value instanceof Date) && Object.values(value).some((v) => Object.is(v, -0) || hasNegativeZeroBelow(v))

interface Tally {
  accepted: number
  refused: number
}

/** Checks the compiled decoder against io-ts on `u`, and counts how io-ts answered. */
const expectAgreement = (codec: Codec, fast: FastPath<unknown>, u: unknown, tally: Tally): void => {
  const before = structuredClone(u)
  const compiled = fast(u)
  expect(u, 'the compiled decoder leaves its input alone').to.deep.equal(before)
  const decoded = codec.decode(u)
  // With an own `__proto__` key io-ts's copies change their prototype; the compiled decoder says NO_MATCH there
  // rather than copy (decodeWith refuses such bodies before decoding anyway).
  if (hasProtoKey(u) && compiled === NO_MATCH) return
  if (E.isRight(decoded)) {
    tally.accepted++
    expect(compiled, 'io-ts decodes it, so the compiled decoder must too').not.to.equal(NO_MATCH)
    expect(compiled).to.deep.equal(decoded.right)
    expect(keyOrder(compiled)).to.deep.equal(keyOrder(decoded.right))
  } else {
    tally.refused++
    expect(compiled, 'io-ts refuses it, so the compiled decoder must too').to.equal(NO_MATCH)
  }
}

// decodeWith as it was before the compiled path (commit 0c60be1): the oracle for answers and problem lists.
const decodeWithIoTs =
  (codec: Codec) =>
  (body: unknown): E.Either<Problem, unknown> => {
    const proto = prepareJson(body)
    if (proto !== undefined) return E.left(invalidPayload([proto], 1))
    const result = codec.decode(body)
    if (E.isRight(result)) return result
    const problems = toFieldProblems(result.left)
    return E.left(invalidPayload(problems.slice(0, MAX_LISTED_ERRORS), problems.length))
  }

const agreementSuite = (cases: ReadonlyArray<readonly [string, Case]>): void => {
  for (const [name, { codec, valid }] of cases) {
    describe(name, () => {
      const fast = compileDecoder(codec)

      it(`decodes ${RUNS.valid} generated valid values as io-ts does`, () => {
        const tally = { accepted: 0, refused: 0 }
        fc.assert(
          fc.property(valid, (u) => expectAgreement(codec, fast, u, tally)),
          { seed: SEED, numRuns: RUNS.valid }
        )
        expect(tally, 'the generator makes only valid values').to.deep.equal({ accepted: RUNS.valid, refused: 0 })
      })

      it(`agrees with io-ts on ${RUNS.nearMiss} valid values with one to four edits`, () => {
        const tally = { accepted: 0, refused: 0 }
        fc.assert(
          fc.property(nearMiss(valid), (u) => expectAgreement(codec, fast, u, tally)),
          { seed: SEED, numRuns: RUNS.nearMiss }
        )
        expect(tally.refused, 'some edited values are refused').to.be.above(0)
        expect(tally.accepted, 'some edited values stay valid').to.be.above(0)
      })

      it(`agrees with io-ts on ${RUNS.json} arbitrary JSON values`, () => {
        const tally = { accepted: 0, refused: 0 }
        fc.assert(
          fc.property(fc.jsonValue(), (u) => expectAgreement(codec, fast, u, tally)),
          { seed: SEED, numRuns: RUNS.json }
        )
      })
    })
  }
}

describe(`core/compile (FC_SEED=${SEED})`, () => {
  describe('agreement with io-ts: the codecs of core/codecs.ts', () => agreementSuite(CODEC_CASES))
  describe('agreement with io-ts: the partners\' codecs', () => agreementSuite(PARTNER_CASES))
  describe('agreement with io-ts: codecs in the style of users\' codecs', () => agreementSuite(USER_CASES))

  it('counts the characters of About You tracking keys as io-ts does: 255 and 256, astral or not', () => {
    const fast = compileDecoder(AboutYouShipment)
    const tally = { accepted: 0, refused: 0 }
    for (const unit of ['a', '\u{1F600}']) {
      for (const n of [255, 256]) expectAgreement(AboutYouShipment, fast, { items: [], carrier_key: 'DHL', tracking_key: unit.repeat(n) }, tally)
    }
    expect(tally).to.deep.equal({ accepted: 2, refused: 2 })
  })

  describe('decodeWith', () => {
    for (const [name, { codec, valid }] of [...PARTNER_CASES, ...USER_CASES]) {
      it(`${name}: answers and problem lists are those of io-ts alone (${RUNS.decodeWith} near misses and JSON values)`, () => {
        const decode = decodeWith(codec)
        const oracle = decodeWithIoTs(codec)
        fc.assert(
          fc.property(fc.oneof({ arbitrary: nearMiss(valid), weight: 3 }, { arbitrary: fc.jsonValue(), weight: 1 }), (u) => {
            // prepareJson turns -0 into 0 in place; each side gets its own copy.
            expect(decode(structuredClone(u))).to.deep.equal(oracle(structuredClone(u)))
          }),
          { seed: SEED, numRuns: RUNS.decodeWith }
        )
      })
    }

    // decodeWith checks `__proto__` and `-0` while it decodes (compileJsonDecoder) instead of walking the body first;
    // the oracle is the former decodeWith: prepareJson's walk, then io-ts, then toFieldProblems.
    describe('__proto__ keys and -0 anywhere, checked while decoding', () => {
      for (const [name, { codec, valid }] of [...CODEC_CASES, ...PARTNER_CASES, ...USER_CASES]) {
        it(`${name}: the same answer, decoded value (zeros by sign), key order and body left behind as the former decodeWith (${RUNS.hostile} hostile bodies)`, () => {
          const decode = decodeWith(codec)
          const oracle = decodeWithIoTs(codec)
          const tally = { accepted: 0, refused: 0, proto: 0 }
          fc.assert(
            fc.property(hostile(valid), (u) => {
              // Each side gets its own copy (structuredClone keeps own __proto__ keys and -0); both may change it.
              const mine = structuredClone(u)
              const theirs = structuredClone(u)
              const got = decode(mine)
              const want = oracle(theirs)
              // chai's deep equality tells -0 from 0.
              expect(got).to.deep.equal(want)
              const proto = E.isLeft(want) && want.left.errors?.[0]?.message.startsWith('the key __proto__') === true
              // prepareJson stops at the first __proto__ key it meets, so which -0 it had fixed by then depends on
              // its walking order; for a refused __proto__ body only the answer is compared.
              if (!proto) expect(mine, 'the body is left as prepareJson leaves it').to.deep.equal(theirs)
              if (E.isRight(got) && E.isRight(want)) {
                tally.accepted++
                expect(keyOrder(got.right)).to.deep.equal(keyOrder(want.right))
                expect(hasNegativeZeroBelow(got.right), 'no -0 below the decoded value').to.equal(false)
              } else if (proto) tally.proto++
              else tally.refused++
            }),
            { seed: SEED, numRuns: RUNS.hostile }
          )
          if (PARTNER_CASES.some(([partner]) => partner === name)) {
            expect(tally.accepted, 'some hostile bodies are still valid').to.be.above(0)
            expect(tally.proto, 'some are refused for a __proto__ key').to.be.above(0)
          }
        })
      }

      const refusedAt = (result: E.Either<Problem, unknown>): unknown => E.isLeft(result) && result.left.errors
      const musement = (extra: string): unknown => JSON.parse(JSON.stringify(musementOrderItemFixture()).replace('{', `{${extra},`))
      const aboutYou = (edit: (text: string) => string): unknown => JSON.parse(edit(JSON.stringify(aboutYouOrderItemsFixture('order_items.shipped'))))
      const shipped = aboutYouEventCodec(['order_items.shipped'])

      it('refuses a __proto__ key inside a field the codec drops, inside a kept object and inside an array item', () => {
        expect(refusedAt(decodeWith(MusementOrderItem)(musement('"extra":{"a":[{"__proto__":{}}]}')))).to.deep.equal([
          { path: '/extra/a/0/__proto__', message: 'the key __proto__ is not accepted' }
        ])
        expect(refusedAt(decodeWith(shipped)(aboutYou((s) => s.replace('"custom_data":{}', '"custom_data":{"k":{"__proto__":1}}'))))).to.deep.equal([
          { path: '/message/items/0/custom_data/k/__proto__', message: 'the key __proto__ is not accepted' }
        ])
        expect(refusedAt(decodeWith(shipped)(aboutYou((s) => s.replace('"items":[{', '"items":[{"__proto__":{"sku":"x"},'))))).to.deep.equal([
          { path: '/message/items/0/__proto__', message: 'the key __proto__ is not accepted' }
        ])
        const Kept = t.type({ a: t.tuple([t.number]) })
        expect(refusedAt(decodeWith(Kept)(JSON.parse('{"a":[1,{"__proto__":0}]}')))).to.deep.equal([{ path: '/a/1/__proto__', message: 'the key __proto__ is not accepted' }])
        expect(refusedAt(decodeWith(Kept)(JSON.parse('{"a":[1],"b":{"c":{"__proto__":0}}}')))).to.deep.equal([{ path: '/b/c/__proto__', message: 'the key __proto__ is not accepted' }])
      })

      it('hands on 0 for every -0: read, passed through unread, kept whole, and in the parts it drops', () => {
        const body = aboutYou((s) => s.replace('"vat":19', '"vat":-0').replace('"custom_data":{}', '"custom_data":{"n":-0,"l":[-0]}'))
        const event = decodeWith(shipped)(body)
        const item = E.isRight(event) ? event.right.message.items[0] : undefined
        expect(item?.vat).to.equal(0)
        expect(Object.is(item?.vat, 0)).to.equal(true)
        expect(item?.custom_data).to.deep.equal({ n: 0, l: [0] })
        const Open = t.type({ a: t.number, b: t.unknown })
        const open: unknown = JSON.parse('{"a":-0,"b":[-0,{"c":-0}],"extra":{"d":-0}}')
        expect(decodeWith(Open)(open)).to.deep.equal(E.right({ a: 0, b: [0, { c: 0 }], extra: { d: 0 } }))
        const dropped: unknown = JSON.parse('{"a":1,"b":null,"extra":{"d":-0}}')
        expect(decodeWith(t.exact(Open))(dropped)).to.deep.equal(E.right({ a: 1, b: null }))
        expect(dropped, 'as prepareJson did, the dropped -0 is 0 in the body too').to.deep.equal({ a: 1, b: null, extra: { d: 0 } })
        // prepareJson never changed the body itself: a bare -0 stays -0, as before.
        const bare = decodeWith(t.number)(-0)
        expect(E.isRight(bare) && Object.is(bare.right, -0)).to.equal(true)
      })

      it('leaves compileDecoder as io-ts has it: -0 kept, the input unchanged', () => {
        const body: unknown = JSON.parse('{"a":-0}')
        const decoded = compileDecoder(t.type({ a: t.number }))(body)
        expect(decoded).to.equal(body)
        expect(body).to.deep.equal({ a: -0 })
        expect(compileJsonDecoder(t.type({ a: t.number }))(JSON.parse('{"a":-0}'))).to.deep.equal({ a: 0 })
      })
    })

    it('runs the codec itself only when the compiled path finds no match', () => {
      const calls: string[] = []
      const Even = withFastPath(
        new t.Type<number, number, unknown>(
          'Even',
          (u): u is number => typeof u === 'number' && u % 2 === 0,
          (u, c) => (calls.push('validate'), typeof u === 'number' && u % 2 === 0 ? t.success(u) : t.failure(u, c)),
          t.identity
        ),
        (u) => (calls.push('fast'), typeof u === 'number' && u % 2 === 0 ? u : NO_MATCH)
      )
      const decode = decodeWith(t.type({ n: Even }))
      expect(decode({ n: 2 })).to.deep.equal(E.right({ n: 2 }))
      expect(calls).to.deep.equal(['fast'])
      const refused = decode({ n: 3 })
      expect(calls).to.deep.equal(['fast', 'fast', 'validate'])
      expect(E.isLeft(refused) && refused.left.errors).to.deep.equal([{ path: '/n', message: 'expected Even, got 3' }])
    })
  })

  describe('the generated code', () => {
    it('reads keys that are not identifiers, and inherited names only as io-ts reads them', () => {
      const Odd = t.type({
        'a"b': t.string,
        '\u2028\\': t.number,
        '': t.null,
        'x\ny': t.literal('"'),
        '"]; throw new Error("injected") //': t.boolean,
        constructor: t.unknown,
        toString: t.union([t.undefined, t.string])
      })
      const fast = compileDecoder(Odd)
      const tally = { accepted: 0, refused: 0 }
      const good = { 'a"b': 'q', '\u2028\\': 1, '': null, 'x\ny': '"', '"]; throw new Error("injected") //': true, constructor: 1, toString: 'own' }
      for (const u of [good, { ...good, toString: undefined }, { ...good, constructor: undefined }, { ...good, '': undefined }, { ...good, extra: 1 }]) {
        expectAgreement(Odd, fast, u, tally)
      }
      // Without own `constructor` and `toString`, io-ts reads the inherited members: Object, and a function.
      const { constructor: _c, toString: _s, ...inherited } = good
      expectAgreement(Odd, fast, inherited, tally)
      expect(tally).to.deep.equal({ accepted: 4, refused: 2 })
    })

    it('gives NO_MATCH where io-ts would copy an object with an own __proto__ key, and decodeWith still refuses it', () => {
      const Stamp = t.type({ at: t.string, n: t.union([t.number, t.undefined]) })
      const body: unknown = JSON.parse('{"__proto__":{"n":1},"at":"x"}')
      expect(compileDecoder(Stamp)(body)).to.equal(NO_MATCH)
      // Without a copy io-ts keeps the object as it is, and so does the compiled decoder.
      const kept: unknown = JSON.parse('{"__proto__":{"n":1},"at":"x","n":2}')
      expect(compileDecoder(Stamp)(kept)).to.equal(kept)
      const musement: unknown = JSON.parse(JSON.stringify(musementOrderItemFixture()).replace('{', '{"__proto__":{"isAdmin":true},'))
      const refused = decodeWith(MusementOrderItem)(musement)
      expect(E.isLeft(refused) && refused.left.errors).to.deep.equal([{ path: '/__proto__', message: 'the key __proto__ is not accepted' }])
    })

    it('returns the input itself wherever io-ts does', () => {
      const item = { sku: 'a', qty: 1 }
      const Item = t.exact(t.type({ sku: t.string, qty: t.number }))
      const list = [item, item]
      expect(compileDecoder(t.array(Item))(list)).to.equal(list)
      const stripped = compileDecoder(t.array(Item))([{ ...item, extra: true }, item])
      expect(stripped).to.deep.equal(list)
      expect(Array.isArray(stripped) && stripped[1]).to.equal(item)
    })

    it('falls back to io-ts where code generation is disallowed', function () {
      this.timeout(30_000)
      const script = [
        "import { compileDecoder, NO_MATCH } from './lib/core/compile.js'",
        "import { MusementOrderItem } from './lib/partners/musement/codec.js'",
        "import { musementOrderItemFixture } from './lib/testing/index.js'",
        'const decode = compileDecoder(MusementOrderItem)',
        "let generated = true; try { new Function('return 1') } catch { generated = false }",
        'console.log(JSON.stringify([generated, decode(musementOrderItemFixture()) !== NO_MATCH, decode({}) === NO_MATCH]))'
      ].join('\n')
      const root = fileURLToPath(new URL('../..', import.meta.url))
      const child = spawnSync(process.execPath, ['--disallow-code-generation-from-strings', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' })
      expect(child.stderr).to.equal('')
      expect(JSON.parse(child.stdout)).to.deep.equal([false, true, true])
    })
  })
})
