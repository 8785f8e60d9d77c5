import type { IncomingHttpHeaders } from 'node:http'
import * as E from 'fp-ts/lib/Either.js'
import { digest, matchesAny } from './compare.js'
import type { DeliveryKey } from './delivery.js'
import { authInvalid, authMissing, type Problem } from './problem.js'

/** What a scheme checks on every request, built once from the configured secrets. */
export interface Verifier {
  /** Decides from the request headers alone, before any body byte is read. */
  readonly checkHeaders: (headers: IncomingHttpHeaders) => E.Either<Problem, void>
  /** For schemes that sign the body: checks the raw bytes, once they are read. Such a route must see the unread body. */
  readonly checkBody?: (body: Uint8Array, headers: IncomingHttpHeaders) => E.Either<Problem, void>
}

/** A request as the test kit authorises it. */
export interface UnsignedRequest {
  readonly body: Uint8Array
  /** A unique message id, for schemes that sign one (Standard Webhooks' `webhook-id`). */
  readonly id: string
  /** Seconds since the epoch, for schemes that sign the time of sending. */
  readonly timestamp: number
}

/**
 * An authentication scheme as a value: the option that carries its secrets (`credentials`, `apiKeys`, `tokens`,
 * `secrets`; one value or a list, for rotation), how each is checked at factory time, how a request is verified,
 * which headers hooks never see, and how the test kit authorises a request. Build one with `basicAuth()`,
 * `apiKeyAuth({ header })`, `bearerAuth()` or `standardWebhooksAuth()`.
 */
export interface AuthScheme<Option extends string, Secret> {
  readonly option: Option
  /** One entry of the option as users write it, for error messages: `{ username, password }`, `a key`. */
  readonly expected: string
  /** Checks one entry of the option at factory time; `fail` throws a TypeError naming the entry (and its `field`). */
  readonly check: (entry: unknown, fail: Fail) => Secret
  /** The per-request checks for these secrets; `partner` names the realm of a challenge. */
  readonly verifier: (secrets: ReadonlyArray<Secret>, partner: string) => Verifier
  /** Lower-case names of the headers that carry credentials: `onReject` sees `'[redacted]'` in their place. */
  readonly redact: ReadonlyArray<string>
  /** Headers that authorise `request` with `secret`, as the partner would send them (for the test kit). */
  readonly authorize: (secret: Secret, request: UnsignedRequest) => Readonly<Record<string, string>>
  /** A delivery key read from the headers, for schemes that carry one (Standard Webhooks' `webhook-id`). */
  readonly deliveryKey?: (headers: IncomingHttpHeaders, partner: string) => DeliveryKey | undefined
}

/** Throws a TypeError: "`credentials[1].password` must be ...". */
export type Fail = (problem: string, field?: string) => never

/** A scheme's secrets as a factory takes them: one, or a list during a rotation. */
export type WithSecrets<Option extends string, Secret> = { readonly [K in Option]: Secret | ReadonlyArray<Secret> } & {
  readonly dangerouslyDisableAuthentication?: never
}

/** No secrets: every request is accepted. Only for a partner you reach by other means (`allowIps`, a private network). */
export type WithoutAuthentication<Option extends string> = { readonly [K in Option]?: never } & { readonly dangerouslyDisableAuthentication: true }

/** The options a scheme adds to a factory: its secrets, or an explicit, loudly named opt-out. */
export type AuthOptions<Option extends string, Secret> = WithSecrets<Option, Secret> | WithoutAuthentication<Option>

/** What a verifier answers for a request it accepts (one value, so accepting allocates nothing). */
export const ACCEPTED: E.Either<Problem, void> = E.right(undefined)

/** Accepts every request. Only reachable through `dangerouslyDisableAuthentication: true`. */
export const noAuth: Verifier = { checkHeaders: () => ACCEPTED }

/** A header value as one string: Node joins repeated lines with ', ' (an array only arises for set-cookie). */
export const headerValue = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name]
  return Array.isArray(value) ? value.join(', ') : value
}

const isNonEmptyString = (u: unknown): u is string => typeof u === 'string' && u !== ''

// Node reads header bytes as latin1, so a secret with other characters never equals what a sender's header decodes to
// (the middleware would refuse the partner forever); HTTP strips leading and trailing whitespace (RFC 9110 §5.5).
const checkHeaderSecret = (entry: unknown, fail: Fail, what: string): string => {
  if (!isNonEmptyString(entry)) return fail(`must be a non-empty string, ${what}`)
  if (entry.trim() !== entry) return fail('must not start or end with whitespace')
  if (!/^[\x20-\x7e]+$/.test(entry)) return fail('must be printable ASCII, as HTTP header values are')
  return entry
}

/** A username and password pair for HTTP Basic authentication (RFC 7617). */
export interface BasicCredentials {
  readonly username: string
  readonly password: string
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

/**
 * HTTP Basic authentication (RFC 7617), option `credentials`: `{ username, password }` or a list of them.
 *
 * @example
 * definePartner({ name: 'acme', codec: AcmeEvent, auth: basicAuth(), deliveryKey: (e) => ({ key: `acme:${e.id}`, scope: `acme:${e.id}` }) })
 */
export const basicAuth = (): AuthScheme<'credentials', BasicCredentials> => ({
  option: 'credentials',
  expected: '{ username, password }',
  check: (entry, fail) => {
    if (typeof entry !== 'object' || entry === null) return fail('must be { username, password }')
    const username = 'username' in entry ? entry.username : undefined
    const password = 'password' in entry ? entry.password : undefined
    if (!isNonEmptyString(username) || username.includes(':')) return fail("must be a non-empty string without ':' (RFC 7617)", 'username')
    if (!isNonEmptyString(password)) return fail('must be a non-empty string', 'password')
    return Object.freeze({ username, password })
  },
  verifier: (credentials, partner) => {
    const secrets = credentials.map(({ username, password }) => digest(`${username}:${password}`))
    // The header exactly as senders write it (`Basic ` and the base64 of `username:password`), hashed once here: a
    // request that sends it is accepted after one hash of what it sent, without decoding anything. Any other spelling
    // (`basic`, extra spaces) takes the full path, and is accepted or refused exactly as before.
    const exactHeaders = credentials.map((c) => digest(basicAuthorization(c)))
    const challenge = { 'WWW-Authenticate': `Basic realm="${partner}", charset="UTF-8"` }
    return {
      checkHeaders: (headers) => {
        const header = headerValue(headers, 'authorization')
        if (header === undefined || header.trim() === '') return E.left(authMissing(challenge))
        if (matchesAny(exactHeaders, header)) return ACCEPTED
        const decoded = decodeBasic(header)
        if (E.isLeft(decoded)) return E.left(authInvalid(challenge, decoded.left))
        return matchesAny(secrets, decoded.right) ? ACCEPTED : E.left(authInvalid(challenge))
      }
    }
  },
  redact: ['authorization'],
  authorize: (credentials) => ({ Authorization: basicAuthorization(credentials) })
})

/** The `Authorization` value for HTTP Basic credentials: `Basic ` and the UTF-8 `username:password` in base64. */
export const basicAuthorization = ({ username, password }: BasicCredentials): string =>
  `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`

/** Options of {@link apiKeyAuth}. */
export interface ApiKeyAuthOptions {
  /** The request header that carries the key, e.g. `'X-API-Key'`. */
  readonly header: string
}

/**
 * An API key in a request header, option `apiKeys`: one key or a list of them.
 *
 * @example
 * apiKeyAuth({ header: 'X-API-Key' })
 */
export const apiKeyAuth = (options: ApiKeyAuthOptions): AuthScheme<'apiKeys', string> => {
  const header: unknown = options?.header
  if (!isNonEmptyString(header) || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header)) {
    throw new TypeError(`apiKeyAuth: \`header\` must be an HTTP header name such as 'X-API-Key', got ${JSON.stringify(header)}`)
  }
  const name = header.toLowerCase()
  return {
    option: 'apiKeys',
    expected: 'key',
    check: (entry, fail) => checkHeaderSecret(entry, fail, `the key sent in ${header}`),
    verifier: (keys) => {
      const secrets = keys.map((k) => digest(k))
      const challenge = { 'WWW-Authenticate': `APIKey header="${header}"` }
      return {
        checkHeaders: (headers) => {
          const key = headerValue(headers, name)
          if (key === undefined || key === '') return E.left(authMissing(challenge))
          return matchesAny(secrets, key) ? ACCEPTED : E.left(authInvalid(challenge))
        }
      }
    },
    redact: [name],
    authorize: (key) => ({ [header]: key })
  }
}

/**
 * A bearer token in `Authorization: Bearer <token>` (RFC 6750), option `tokens`: one token or a list of them.
 *
 * @example
 * bearerAuth()
 */
export const bearerAuth = (): AuthScheme<'tokens', string> => ({
  option: 'tokens',
  expected: 'token',
  check: (entry, fail) => {
    const token = checkHeaderSecret(entry, fail, 'the token sent after `Authorization: Bearer`')
    // RFC 6750 §2.1 b64token: a token with other characters (a space) could never be sent, so it is refused here.
    return /^[A-Za-z0-9\-._~+/]+=*$/.test(token) ? token : fail("must be a bearer token: letters, digits and - . _ ~ + / (then '=' padding), RFC 6750")
  },
  verifier: (tokens, partner) => {
    const secrets = tokens.map((t) => digest(t))
    const challenge = { 'WWW-Authenticate': `Bearer realm="${partner}"` }
    return {
      checkHeaders: (headers) => {
        const header = headerValue(headers, 'authorization')
        if (header === undefined || header.trim() === '') return E.left(authMissing(challenge))
        const m = /^bearer +(\S+) *$/i.exec(header)
        if (m === null) return E.left(authInvalid(challenge, 'expected the Bearer authentication scheme'))
        return matchesAny(secrets, m[1] ?? '') ? ACCEPTED : E.left(authInvalid(challenge))
      }
    }
  },
  redact: ['authorization'],
  authorize: (token) => ({ Authorization: `Bearer ${token}` })
})
