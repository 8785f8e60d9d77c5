import { expect } from 'chai'
import fc from 'fast-check'
import { digest, digestTable } from '../../lib/stores/digest-table.js'

// What the table must do, as memoryStore did it with a Map (insertion order = oldest first): a put drops the entry's
// old self, then from the front everything expired and, while full, the oldest; a lookup drops an expired entry.
const model = (max: number) => {
  const entries = new Map<string, { readonly expiresAt: number; readonly value: number }>()
  return {
    find: (key: string, t: number): number | undefined => {
      const e = entries.get(key)
      if (e === undefined) return undefined
      if (e.expiresAt > t) return e.value
      entries.delete(key)
      return undefined
    },
    put: (key: string, expiresAt: number, value: number, t: number): void => {
      entries.delete(key)
      for (const [k, e] of entries) {
        if (e.expiresAt > t && entries.size < max) break
        entries.delete(k)
      }
      entries.set(key, { expiresAt, value })
    },
    size: () => entries.size
  }
}

type Op =
  | { readonly kind: 'put'; readonly key: number; readonly ttl: number; readonly value: number }
  | { readonly kind: 'find'; readonly key: number }
  | { readonly kind: 'elapse'; readonly ms: number }

const op = (keys: number): fc.Arbitrary<Op> =>
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({ kind: fc.constant('put'), key: fc.nat(keys - 1), ttl: fc.integer({ min: 1, max: 400 }), value: fc.double({ noNaN: true }) })
    },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('find'), key: fc.nat(keys - 1) }) },
    // Mostly small steps; sometimes a jump past every expiry, and sometimes back (a wall clock can go back).
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('elapse'), ms: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constant(1000), fc.integer({ min: -50, max: 0 })) })
    }
  )

describe('digestTable', () => {
  it('remembers, expires and evicts exactly like an insertion-ordered Map, through growth, compaction and shrinking', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 400 }),
        fc.array(op(400), { minLength: 200, maxLength: 2000, size: 'max' }),
        (max, keys, ops) => {
          const table = digestTable(max, true)
          const expected = model(max)
          const digests = Array.from({ length: 400 }, (_, i) => digest(`k${i}`))
          let t = 1_000
          for (const o of ops) {
            if (o.kind === 'elapse') {
              t += o.ms
              continue
            }
            const key = o.key % keys
            const d = digests[key] ?? expect.fail('no digest')
            if (o.kind === 'put') {
              table.put(d, t + o.ttl, o.value, t)
              expected.put(`k${key}`, t + o.ttl, o.value, t)
            } else {
              const slot = table.find(d, t)
              expect(slot === -1 ? undefined : table.valueAt(slot)).to.equal(expected.find(`k${key}`, t))
            }
            expect(table.size).to.equal(expected.size())
          }
        }
      ),
      { numRuns: 200 }
    )
  })

  it('stays exact while it grows to a thousand entries and shrinks back as they expire one by one', () => {
    const table = digestTable(10_000, true)
    const expected = model(10_000)
    const digests = Array.from({ length: 1100 }, (_, i) => digest(`k${i}`))
    const put = (i: number, expiresAt: number, t: number): void => {
      table.put(digests[i] ?? expect.fail('no digest'), expiresAt, i, t)
      expected.put(`k${i}`, expiresAt, i, t)
    }
    for (let i = 0; i < 1000; i++) put(i, 1000 + i, i)
    for (let t = 1000; t < 2100; t++) {
      put(1000 + (t % 100), t + 5, t)
      expect(table.size).to.equal(expected.size())
      if (t % 25 !== 0) continue
      for (let i = 0; i < 1100; i++) {
        const slot = table.find(digests[i] ?? expect.fail('no digest'), t)
        expect(slot === -1 ? undefined : table.valueAt(slot), `k${i} at ${t}`).to.equal(expected.find(`k${i}`, t))
      }
    }
  })

  it('keeps its first 16 bytes of SHA-256 apart for strings that differ only in lone surrogates', () => {
    // UTF-8 would turn each lone surrogate into U+FFFD and give these three the same digest.
    const digests = ['a\ud800', 'a\udc00', 'a\ufffd', 'a\ud83d\ude00'].map((s) => digest(s).slice(0, 16))
    expect(new Set(digests).size).to.equal(4)
  })
})
