import { expect } from 'chai'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { decodeWith, MAX_LISTED_ERRORS, toFieldProblems } from '../../lib/core/decode.js'

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
})
