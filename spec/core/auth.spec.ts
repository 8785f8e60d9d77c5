import { expect } from 'chai'
import * as E from 'fp-ts/lib/Either.js'
import { apiKeyAuth, basicAuth } from '../../lib/core/auth.js'
import { basicAuthHeader } from '../../lib/testing/index.js'

const typeOf = (result: E.Either<{ type: string }, void>): string => (E.isLeft(result) ? result.left.type : 'accepted')

describe('core/auth', () => {
  describe('basicAuth', () => {
    const check = basicAuth('test', [
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

    it('does not accept one pair\'s username with another pair\'s password', () => {
      expect(typeOf(check({ authorization: basicAuthHeader('müller', 'two') }))).to.equal('webhook.auth.invalid')
    })

    it('challenges with the realm and UTF-8 charset', () => {
      const result = check({})
      expect(E.isLeft(result) && result.left.headers).to.deep.equal({ 'WWW-Authenticate': 'Basic realm="test", charset="UTF-8"' })
    })
  })

  describe('apiKeyAuth', () => {
    const check = apiKeyAuth('X-API-Key', ['old-key', 'new-key'])

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
  })
})
