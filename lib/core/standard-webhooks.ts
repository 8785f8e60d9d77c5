import type { IncomingHttpHeaders } from 'node:http'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { headerValue, type AuthScheme, type Fail, type Verifier } from './auth.js'
import { hmacSha256, signatureMatchesAny } from './compare.js'
import { assertKnownKeys, assertOptionsObject, optionError, positiveInteger } from './options.js'
import { authInvalid, authMissing, type Problem } from './problem.js'

const FACTORY = 'standardWebhooksAuth'

/** Options of {@link standardWebhooksAuth}. */
export interface StandardWebhooksAuthOptions {
  /** How far `webhook-timestamp` may be from the clock, in seconds, either way. Default 300 (5 min). */
  readonly toleranceSeconds?: number
  /** The clock in ms, injectable so tests need not wait. Default `Date.now`. */
  readonly now?: () => number
}

// The specification asks for "some allowable tolerance" either way; every reference library uses 5 minutes.
const DEFAULT_TOLERANCE_SECONDS = 300

const PREFIX = 'whsec_'
// RFC 4648 §4 base64, standard alphabet, padding optional: what the reference JS library decodes the same way.
// It also takes a few strings that are not base64 (a dangling or invalid last character, excess `=`, a trailing
// space) by dropping their tail; those are refused here, as a damaged secret, rather than silently shortened.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/

/** The HMAC key of a `whsec_…` secret (the prefix is optional, as in the reference libraries), or why it is not one. */
const decodeSecret = (secret: string): E.Either<string, Buffer> => {
  const encoded = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret
  if (encoded === '') return E.left(`is empty after '${PREFIX}': pass the whole signing secret`)
  // Shorter than 4 characters the reference library refuses it too; the spec's secrets are 24 to 64 bytes.
  if (!BASE64.test(encoded) || encoded.length < 4) {
    return E.left(`must be '${PREFIX}' followed by base64 (A-Z a-z 0-9 + /, optional '=' padding), as the partner shows it`)
  }
  return E.right(Buffer.from(encoded, 'base64'))
}

const checkSecret = (entry: unknown, fail: Fail): string => {
  if (typeof entry !== 'string') return fail(`must be a string: the signing secret, '${PREFIX}' followed by base64`)
  if (entry.trim() !== entry) return fail('must not start or end with whitespace')
  const key = decodeSecret(entry)
  return E.isLeft(key) ? fail(key.left) : entry
}

const keyOf = (secret: string): Buffer => {
  const key = decodeSecret(secret)
  if (E.isLeft(key)) throw optionError(FACTORY, `a secret ${key.left}`)
  return key.right
}

/** The three headers once present and well-formed; `signatures` are the `v1` entries, as sent (base64 text). */
interface SignedHeaders {
  readonly id: string
  readonly timestamp: string
  readonly seconds: number
  readonly signatures: ReadonlyArray<string>
}

const HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const
// Canonical decimal only: the reference libraries send `String(seconds)`, and that text is what they sign.
const TIMESTAMP = /^(?:0|[1-9][0-9]*)$/
// `<version>,<value>`; `v1` is HMAC-SHA256, other versions (`v1a`: ed25519) are skipped.
const ENTRY = /^([A-Za-z0-9]+),([A-Za-z0-9+/]+={0,2})$/

const readSignedHeaders = (headers: IncomingHttpHeaders, challenge: Readonly<Record<string, string>>): E.Either<Problem, SignedHeaders> => {
  const values = HEADERS.map((name) => headerValue(headers, name) ?? '')
  const missing = HEADERS.filter((_, i) => values[i] === '')
  if (missing.length > 0) return E.left({ ...authMissing(challenge), detail: `missing header${missing.length > 1 ? 's' : ''} ${missing.join(', ')}` })
  const [id = '', timestamp = '', list = ''] = values
  if (!TIMESTAMP.test(timestamp)) return E.left(authInvalid(challenge, 'webhook-timestamp must be whole seconds since the epoch'))
  const signatures: string[] = []
  // Space-separated (standard-webhooks §webhook headers); repeated spaces are skipped, as the reference library does.
  for (const entry of list.split(' ')) {
    if (entry === '') continue
    const m = ENTRY.exec(entry)
    if (m === null) return E.left(authInvalid(challenge, 'webhook-signature must be a space-separated list of <version>,<base64> entries'))
    if (m[1] === 'v1' && m[2] !== undefined) signatures.push(m[2])
  }
  if (signatures.length === 0) return E.left(authInvalid(challenge, 'webhook-signature has no v1 (HMAC-SHA256) entry'))
  return E.right({ id, timestamp, seconds: Number(timestamp), signatures })
}

const verifier = (
  keys: ReadonlyArray<Buffer>,
  partner: string,
  toleranceSeconds: number,
  now: () => number
): Verifier => {
  // No challenge scheme is registered for signed webhooks, yet a 401 must carry one (RFC 9110 §11.6.1). Like
  // APIKey in apiKeyAuth, the name is a plain token that says what to send; senders read the status, not this.
  const challenge = { 'WWW-Authenticate': `StandardWebhooks realm="${partner}"` }
  const checkTime = ({ seconds }: SignedHeaders): E.Either<Problem, void> => {
    const skew = seconds - Math.floor(now() / 1000)
    if (skew > toleranceSeconds) return E.left(authInvalid(challenge, `webhook-timestamp is more than ${toleranceSeconds} s in the future`))
    // Written so that NaN (a clock returning garbage) is refused as well.
    if (!(skew >= -toleranceSeconds)) return E.left(authInvalid(challenge, `webhook-timestamp is more than ${toleranceSeconds} s in the past`))
    return E.right(undefined)
  }
  const checkSignature = (body: Uint8Array) => ({ id, timestamp, signatures }: SignedHeaders): E.Either<Problem, void> => {
    // Compared as base64 text, as the reference library does, so exactly the same signatures match.
    const expected = keys.map((key) => Buffer.from(hmacSha256(key, [id, '.', timestamp, '.', body]).toString('base64'), 'latin1'))
    const received = signatures.map((s) => Buffer.from(s, 'latin1'))
    return signatureMatchesAny(expected, received)
      ? E.right(undefined)
      : E.left(authInvalid(challenge, 'no v1 signature matches the id, timestamp and body under the configured secrets'))
  }
  return {
    // Replays are refused before the body is read (standard-webhooks §verifying signatures: a tolerance either way).
    checkHeaders: (headers) => pipe(readSignedHeaders(headers, challenge), E.flatMap(checkTime)),
    // Runs after checkHeaders (the pipeline's order) and does not read the clock again: a slow body keeps its timestamp.
    checkBody: (body, headers) => pipe(readSignedHeaders(headers, challenge), E.flatMap(checkSignature(body)))
  }
}

const resolveOptions = (options: StandardWebhooksAuthOptions): { readonly toleranceSeconds: number; readonly now: () => number } => {
  assertOptionsObject(FACTORY, options)
  assertKnownKeys(FACTORY, options, ['toleranceSeconds', 'now'])
  const now: unknown = options.now
  if (now !== undefined && typeof now !== 'function') {
    throw optionError(FACTORY, `\`now\` must be a function returning ms, like Date.now; got ${now === null ? 'null' : typeof now}`)
  }
  return {
    toleranceSeconds: positiveInteger(FACTORY, 'toleranceSeconds', options.toleranceSeconds, DEFAULT_TOLERANCE_SECONDS),
    now: options.now ?? Date.now
  }
}

/**
 * The HMAC-SHA256 (`v1`) scheme of the Standard Webhooks specification, option `secrets`: the partner's `whsec_…`
 * signing secret, or a list of them while it rotates. Checks `webhook-id`, `webhook-timestamp` (within
 * `toleranceSeconds` of the clock) and `webhook-signature` over the raw body, so the route must be mounted before
 * any JSON body parser. A partner defined with it needs no `deliveryKey`: `webhook-id` is the idempotency key.
 *
 * @example
 * const acmeWebhook = definePartner({ name: 'acme', codec: AcmeEvent, auth: standardWebhooksAuth() })
 * app.post('/webhooks/acme', acmeWebhook({ secrets: process.env.ACME_WEBHOOK_SECRET ?? '', handler: async (event) => {} }))
 * app.use(express.json()) // after the webhook route
 */
export const standardWebhooksAuth = (options: StandardWebhooksAuthOptions = {}): AuthScheme<'secrets', string> => {
  const { toleranceSeconds, now } = resolveOptions(options)
  return {
    option: 'secrets',
    expected: `'${PREFIX}…' secret`,
    check: checkSecret,
    verifier: (secrets, partner) => verifier(secrets.map(keyOf), partner, toleranceSeconds, now),
    redact: ['webhook-signature'],
    authorize: (secret, { body, id, timestamp }) => {
      const seconds = String(Math.floor(timestamp))
      const signature = hmacSha256(keyOf(secret), [id, '.', seconds, '.', body]).toString('base64')
      return { 'webhook-id': id, 'webhook-timestamp': seconds, 'webhook-signature': `v1,${signature}` }
    },
    // standard-webhooks §verifying signatures: "use the webhook-id header as an idempotency key".
    deliveryKey: (headers, partner) => {
      const id = headerValue(headers, 'webhook-id')
      if (id === undefined || id === '') return undefined
      const key = `${partner}:${id}`
      return { key, scope: key }
    }
  }
}
