import { expect } from 'chai'
import * as E from 'fp-ts/lib/Either.js'
import { checkContentType, parseJson } from '../../lib/core/read-body.js'

const outcome = (result: E.Either<{ type: string }, unknown>): unknown => (E.isLeft(result) ? result.left.type : result.right)

describe('core/read-body', () => {
  describe('checkContentType', () => {
    it('accepts application/json in any case, with a UTF-8 charset or none', () => {
      for (const value of ['application/json', 'APPLICATION/JSON', 'application/json; charset=utf-8', 'application/json;charset="UTF8"', 'application/json; foo=bar']) {
        expect(outcome(checkContentType({ 'content-type': value })), value).to.equal(undefined)
      }
    })
    it('refuses other types, other charsets and compressed bodies with 415', () => {
      for (const headers of [{}, { 'content-type': 'text/json' }, { 'content-type': 'application/json; charset=utf-16' }, { 'content-type': 'application/json', 'content-encoding': 'deflate' }]) {
        expect(outcome(checkContentType(headers)), JSON.stringify(headers)).to.equal('webhook.media.unsupported')
      }
    })
    it('treats Content-Encoding: identity as no encoding', () => {
      expect(outcome(checkContentType({ 'content-type': 'application/json', 'content-encoding': 'identity' }))).to.equal(undefined)
    })
  })

  describe('parseJson', () => {
    it('parses UTF-8 JSON and strips a leading byte order mark', () => {
      expect(outcome(parseJson(Buffer.from('{"a":"é"}')))).to.deep.equal({ a: 'é' })
      expect(outcome(parseJson(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')])))).to.deep.equal({ a: 1 })
    })
    it('refuses invalid UTF-8 instead of replacing it', () => {
      expect(outcome(parseJson(Buffer.from([0x22, 0xc3, 0x28, 0x22])))).to.equal('webhook.body.malformed')
    })
    it('refuses empty, whitespace-only and truncated bodies', () => {
      for (const text of ['', '  \n', '{"a":', '{a:1}', "{'a':1}"]) expect(outcome(parseJson(text)), text).to.equal('webhook.body.malformed')
    })
    it('keeps __proto__ as a plain own key, never as the prototype', () => {
      const result = parseJson('{"__proto__":{"polluted":true}}')
      expect(E.isRight(result)).to.equal(true)
      expect(Object.prototype).not.to.have.property('polluted')
    })
  })
})
