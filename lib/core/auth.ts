import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import * as E from 'fp-ts/lib/Either.js'
import { authInvalid, authMissing, type Problem } from './problem.js'

/** Decides from the request headers alone, before any body byte is read, whether the sender is who it claims. */
export type Authenticator = (headers: IncomingHttpHeaders) => E.Either<Problem, void>

/** A username and password pair for HTTP Basic authentication (RFC 7617). */
export interface BasicCredentials {
  readonly username: string
  readonly password: string
}

// Digests have a fixed length, so timingSafeEqual never throws and the comparison time does not depend on how
// many leading characters match or on the secret's length (standard-webhooks §verifying signatures).
const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest()

/** True when `candidate` equals one of `secrets`; every secret is compared, so rotation leaks nothing by timing. */
const matchesAny = (secrets: ReadonlyArray<Buffer>, candidate: string): boolean => {
  const d = digest(candidate)
  let found = false
  for (const secret of secrets) found = timingSafeEqual(secret, d) || found
  return found
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

const decodeBasic = (header: string): E.Either<string, string> => {
  const [scheme = '', token = '', ...rest] = header.trim().split(/ +/)
  // The scheme name is case-insensitive (RFC 9110 §11.1), so `basic` is as good as `Basic`.
  if (scheme.toLowerCase() !== 'basic') return E.left('expected the Basic authentication scheme')
  if (rest.length > 0 || token.length % 4 !== 0 || !BASE64.test(token)) return E.left('the Basic credentials are not valid base64')
  const decoded = new TextDecoder('utf-8', { fatal: false }).decode(Buffer.from(token, 'base64'))
  // RFC 7617 §2: the user-id cannot contain a colon, the password may, so split at the first one.
  return decoded.includes(':') ? E.right(decoded) : E.left('the Basic credentials have no colon between username and password')
}

/** HTTP Basic authentication against one or more username/password pairs (several during a rotation). */
export const basicAuth = (realm: string, credentials: ReadonlyArray<BasicCredentials>): Authenticator => {
  const secrets = credentials.map(({ username, password }) => digest(`${username}:${password}`))
  const challenge = { 'WWW-Authenticate': `Basic realm="${realm}", charset="UTF-8"` }
  return (headers) => {
    const header = headers.authorization
    if (header === undefined || header.trim() === '') return E.left(authMissing(challenge))
    return E.flatMap(E.mapLeft((why: string) => authInvalid(challenge, why))(decodeBasic(header)), (userPass) =>
      matchesAny(secrets, userPass) ? E.right(undefined) : E.left(authInvalid(challenge))
    )
  }
}

/** An API key in a request header (for example `X-API-Key`), against one or more accepted keys. */
export const apiKeyAuth = (headerName: string, keys: ReadonlyArray<string>): Authenticator => {
  const secrets = keys.map(digest)
  const name = headerName.toLowerCase()
  const challenge = { 'WWW-Authenticate': `APIKey header="${headerName}"` }
  return (headers) => {
    const value = headers[name]
    if (value === undefined || value === '') return E.left(authMissing(challenge))
    // Node joins repeated headers with ", "; an array only arises for set-cookie, but stay total.
    const key = Array.isArray(value) ? value.join(', ') : value
    return matchesAny(secrets, key) ? E.right(undefined) : E.left(authInvalid(challenge))
  }
}

/** Accepts every request. Only reachable through an option whose name says it is dangerous. */
export const noAuth: Authenticator = () => E.right(undefined)
