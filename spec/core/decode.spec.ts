import { expect } from 'chai'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { decodeWith, MAX_LISTED_ERRORS, prepareJson, toFieldProblems } from '../../lib/core/decode.js'
import { MusementOrderItem } from '../../lib/partners/musement/codec.js'

const Item = t.type({ sku: t.string, 'a/b~c': t.union([t.string, t.null]) }, 'Item')
const Body = t.type({ items: t.array(Item), name: t.string }, 'Body')

const problems = (u: unknown) => {
  const result = Body.decode(u)
  return E.isLeft(result) ? toFieldProblems(result.left) : []
}

describe('core/decode', () => {
  it('locates errors with RFC 6901 JSON Pointers, escaping ~ and /', () => {
    expect(problems({ items: [{ sku: 'x', 'a/b~c': 'ok' }, { sku: 1, 'a/b~c': 2 }], name: 'n' })).to.deep.equal([
      { path: '/items/1/sku', message: 'expected string, got 1' },
      { path: '/items/1/a~1b~0c', message: 'expected (string | null), got 2' }
    ])
  })

  it('reports a union once, by its name, not once per member', () => {
    expect(problems({ items: [{ sku: 's', 'a/b~c': true }], name: 'n' })).to.have.length(1)
  })

  it('says a field is missing rather than showing undefined', () => {
    expect(problems({ items: [] })).to.deep.equal([{ path: '/name', message: 'missing; expected string' }])
  })

  it('shortens long values and never prints objects', () => {
    const [long] = problems({ items: [], name: { nested: 'x'.repeat(1000) } })
    expect(long?.message).to.equal('expected string, got an object')
    const [str] = problems({ items: 'y'.repeat(1000), name: 'n' })
    expect(str?.message.length).to.be.below(120)
  })

  it('lists at most MAX_LISTED_ERRORS problems and says how many there were', () => {
    const items = Array.from({ length: 500 }, () => ({}))
    const result = decodeWith(Body)({ items, name: 'n' })
    expect(E.isLeft(result)).to.equal(true)
    if (E.isRight(result)) return
    expect(result.left.errors).to.have.length(MAX_LISTED_ERRORS)
    expect(result.left.detail).to.equal(`1000 problems, the first ${MAX_LISTED_ERRORS} listed`)
    expect(JSON.stringify(result.left).length).to.be.below(2000)
  })

  it('passes a valid value through', () => {
    expect(decodeWith(Body)({ items: [], name: 'n' })).to.deep.equal(E.right({ items: [], name: 'n' }))
  })

  describe('prepareJson', () => {
    it('finds a __proto__ key at any depth and names its JSON Pointer', () => {
      expect(prepareJson(JSON.parse('{"a":[{"b":1},{"__proto__":{}}]}'))).to.deep.equal({ path: '/a/1/__proto__', message: 'the key __proto__ is not accepted' })
      expect(prepareJson(JSON.parse('{"__proto__":null}'))?.path).to.equal('/__proto__')
      expect(prepareJson(JSON.parse('{"constructor":{"prototype":{}},"prototype":1}'))).to.equal(undefined)
    })

    it('walks 100 000 levels without a stack overflow and cuts a long pointer to an ancestor', () => {
      const deep: unknown = JSON.parse(`${'{"a/~":'.repeat(100_000)}{"__proto__":1}${'}'.repeat(100_000)}`)
      const found = prepareJson(deep)
      expect(found?.path).to.equal('/a~1~0'.repeat(33))
      expect(found?.message).to.equal('the key __proto__ is not accepted (found below this path)')
    })

    it('turns -0 into 0 everywhere, and leaves other numbers alone', () => {
      const value: unknown = JSON.parse('{"a":-0,"b":[-0,0,-1,1e-400,-1e-400],"c":{"d":-0}}')
      expect(prepareJson(value)).to.equal(undefined)
      // JSON.stringify writes -0 as 0 either way; deep equality tells them apart.
      expect(value).to.deep.equal({ a: 0, b: [0, 0, -1, 0, 0], c: { d: 0 } })
    })
  })

  describe('decodeWith and __proto__', () => {
    // io-ts copies a partly decoded object with Object.assign, which turns an own `__proto__` key into the prototype.
    const smuggled = JSON.parse(
      '{"__proto__":{"order_item_status":"OK","isAdmin":true},"order_id":"1","order_uuid":"8e9e5c6e-ea7d-4934-8753-f00954f30d00",' +
        '"order_created":"2018-12-10T13:12:40+0000","order_updated":"2018-12-10T13:12:40+0000","order_version":"1",' +
        '"order_item_uuid":"11045e18-e3ca-42e1-acb4-0d5be75036fd","order_item_created":"2018-12-10T13:12:40+0000",' +
        '"order_item_updated":"2018-12-10T13:12:40+0000","order_item_version":"1"}'
    )

    it('io-ts alone accepts a body whose required status exists only through __proto__', () => {
      const alone = MusementOrderItem.decode(smuggled)
      expect(E.isRight(alone) && [alone.right.order_item_status, Object.hasOwn(alone.right, 'order_item_status')]).to.deep.equal(['OK', false])
    })

    it('refuses it before the codec runs', () => {
      const result = decodeWith(MusementOrderItem)(smuggled)
      expect(E.isLeft(result) && result.left).to.deep.include({ type: 'webhook.payload.invalid', detail: '1 problem' })
      expect(E.isLeft(result) && result.left.errors).to.deep.equal([{ path: '/__proto__', message: 'the key __proto__ is not accepted' }])
    })
  })
})
