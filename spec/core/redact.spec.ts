import { expect } from 'chai'
import { REDACTED_HEADERS, redactHeaders } from '../../lib/core/redact.js'

describe('core/redact', () => {
  it('replaces credential header values and keeps the rest', () => {
    const headers = {
      authorization: 'Basic bXVzZW1lbnQ6c2VjcmV0',
      'proxy-authorization': 'Basic cHJveHk6c2VjcmV0',
      'x-api-key': 'ay-live-secret',
      cookie: 'session=secret',
      'content-type': 'application/json',
      'x-forwarded-for': '203.0.113.7',
      'set-cookie': ['a=1', 'b=2'],
      'content-length': undefined
    }
    expect(redactHeaders(headers)).to.deep.equal({
      authorization: '[redacted]',
      'proxy-authorization': '[redacted]',
      'x-api-key': '[redacted]',
      cookie: '[redacted]',
      'content-type': 'application/json',
      'x-forwarded-for': '203.0.113.7',
      'set-cookie': ['a=1', 'b=2']
    })
    expect(REDACTED_HEADERS).to.have.members(['authorization', 'proxy-authorization', 'x-api-key', 'cookie'])
  })

  it('returns a frozen copy and leaves the request headers alone', () => {
    const headers = { authorization: 'Basic x' }
    const redacted = redactHeaders(headers)
    expect(Object.isFrozen(redacted)).to.equal(true)
    expect(headers).to.deep.equal({ authorization: 'Basic x' })
  })

  it('keeps a header named __proto__ as a plain key', () => {
    const headers: Record<string, string> = {}
    Object.defineProperty(headers, '__proto__', { value: 'x', enumerable: true })
    const redacted = redactHeaders(headers)
    expect(Object.getPrototypeOf(redacted)).to.equal(Object.prototype)
    expect(Object.keys(redacted)).to.deep.equal(['__proto__'])
  })
})
