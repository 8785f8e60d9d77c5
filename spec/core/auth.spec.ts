import { expect } from 'chai'
import * as E from 'fp-ts/lib/Either.js'
import type { IncomingHttpHeaders } from 'node:http'
import { apiKeyAuth, basicAuth, bearerAuth, type AuthScheme } from '../../lib/core/auth.js'
import { basicAuthHeader } from '../../lib/testing/index.js'

const typeOf = (result: E.Either<{ type: string }, void>): string => (E.isLeft(result) ? result.left.type : 'accepted')

/** The scheme's per-request check for `secrets`, as a factory builds it. */
const checker =
  <Option extends string, Secret>(scheme: AuthScheme<Option, Secret>, secrets: ReadonlyArray<Secret>, partner = 'test') =>
  (headers: IncomingHttpHeaders) =>
    scheme.verifier(secrets, partner).checkHeaders(headers)

const fails = (problem: string, field?: string): never => {
  throw new TypeError(field === undefined ? problem : `${field} ${problem}`)
}

describe('core/auth', () => {
  describe('basicAuth', () => {
    const check = checker(basicAuth(), [
      { username: 'müller', password: 'pä:ss wörd' },
      { username: 'second', password: 'two' }
    ])

    it('accepts UTF-8 credentials whose password contains colons and spaces (RFC 7617)', () => {
      expect(typeOf(check({ authorization: basicAuthHeader('müller', 'pä:ss wörd') }))).to.equal('accepted')
      expect(typeOf(check({ authorization: basicAuthHeader('second', 'two') }))).to.equal('accepted')
    })

    it('tells a missing header from a wrong one', () => {
      expect(typeOf(check({}))).to.equal('webhook.auth.missing')
      expect(typeOf(check({ authorization: '  ' }))).to.equal('webhook.auth.missing')
      expect(typeOf(check({ authorization: basicAuthHeader('müller', 'pä:ss') }))).to.equal('webhook.auth.invalid')
    })

    it("does not accept one pair's username with another pair's password", () => {
      expect(typeOf(check({ authorization: basicAuthHeader('müller', 'two') }))).to.equal('webhook.auth.invalid')
    })

    it("challenges with the partner's name as realm and the UTF-8 charset", () => {
      const result = check({})
      expect(E.isLeft(result) && result.left.headers).to.deep.equal({ 'WWW-Authenticate': 'Basic realm="test", charset="UTF-8"' })
    })

    it('authorizes a request for the test kit exactly as basicAuthHeader does, and redacts Authorization', () => {
      const headers = basicAuth().authorize({ username: 'müller', password: 'pä:ss wörd' }, { body: Buffer.from('{}'), id: 'm', timestamp: 0 })
      expect(headers).to.deep.equal({ Authorization: basicAuthHeader('müller', 'pä:ss wörd') })
      expect(typeOf(check(Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))))).to.equal('accepted')
      expect(basicAuth().redact).to.deep.equal(['authorization'])
    })
  })

  describe('apiKeyAuth', () => {
    const check = checker(apiKeyAuth({ header: 'X-API-Key' }), ['old-key', 'new-key'])

    it('accepts every key of a rotation, reading the header case-insensitively', () => {
      expect(typeOf(check({ 'x-api-key': 'old-key' }))).to.equal('accepted')
      expect(typeOf(check({ 'x-api-key': 'new-key' }))).to.equal('accepted')
    })

    it('refuses missing, empty, wrong, partial and joined keys', () => {
      expect(typeOf(check({}))).to.equal('webhook.auth.missing')
      expect(typeOf(check({ 'x-api-key': '' }))).to.equal('webhook.auth.missing')
      for (const key of ['wrong', 'old-ke', 'old-key ', 'OLD-KEY', 'old-key, new-key']) {
        expect(typeOf(check({ 'x-api-key': key })), key).to.equal('webhook.auth.invalid')
      }
    })

    it('reads the header it is given, redacts it, and refuses a header name that is not one', () => {
      const scheme = apiKeyAuth({ header: 'X-Webhook-Token' })
      expect(typeOf(checker(scheme, ['k'])({ 'x-webhook-token': 'k' }))).to.equal('accepted')
      expect(typeOf(checker(scheme, ['k'])({ 'x-api-key': 'k' }))).to.equal('webhook.auth.missing')
      expect(scheme.redact).to.deep.equal(['x-webhook-token'])
      expect(() => apiKeyAuth({ header: 'X API Key' })).to.throw(TypeError, /must be an HTTP header name/)
    })

    it('checks each configured key: non-empty printable ASCII without surrounding spaces', () => {
      const scheme = apiKeyAuth({ header: 'X-API-Key' })
      expect(scheme.check('k-1', fails)).to.equal('k-1')
      expect(() => scheme.check('', fails)).to.throw(/non-empty string/)
      expect(() => scheme.check(' k', fails)).to.throw(/whitespace/)
      expect(() => scheme.check('schlüssel', fails)).to.throw(/printable ASCII/)
    })
  })

  describe('bearerAuth', () => {
    const check = checker(bearerAuth(), ['tok-1', 'tok-2'], 'acme')

    it('accepts each token of a rotation, the scheme name in any case', () => {
      expect(typeOf(check({ authorization: 'Bearer tok-1' }))).to.equal('accepted')
      expect(typeOf(check({ authorization: 'bearer tok-2' }))).to.equal('accepted')
    })

    it('refuses a missing header, another scheme, a wrong, partial or extended token', () => {
      expect(typeOf(check({}))).to.equal('webhook.auth.missing')
      for (const header of ['Basic tok-1', 'Bearer', 'Bearer tok-', 'Bearer tok-1 tok-2', 'Bearer TOK-1', 'tok-1']) {
        expect(typeOf(check({ authorization: header })), header).to.equal('webhook.auth.invalid')
      }
    })

    it('refuses at factory time a token that could never be sent (RFC 6750 b64token)', () => {
      const scheme = bearerAuth()
      expect(scheme.check('abc-._~+/123==', fails)).to.equal('abc-._~+/123==')
      for (const token of ['two words', 'semi;colon', 'a=b', 'quote"d']) expect(() => scheme.check(token, fails), token).to.throw(/must be a bearer token/)
    })

    it('challenges with the Bearer scheme and the partner as realm (RFC 6750 §3)', () => {
      const result = check({})
      expect(E.isLeft(result) && result.left.headers).to.deep.equal({ 'WWW-Authenticate': 'Bearer realm="acme"' })
    })
  })
})
