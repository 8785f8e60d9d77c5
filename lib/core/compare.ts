import { createHmac, hash, timingSafeEqual } from 'node:crypto'

// Every secret comparison of the package lives here, and every one is constant-time (standard-webhooks §verifying
// signatures): the time taken never depends on how many leading bytes match, on a secret's length, or on which
// secret of a rotation matched.

/**
 * A string's SHA-256 as a string of 32 one-byte (latin1) chars, from one call, with no Hash object and no Buffer made
 * (a quarter of the time of `createHash` here). It stands in for a secret, so comparing two never leaks a length, and
 * for a remembered delivery key (the memory store's digest tables).
 *
 * The bytes hashed are one-to-one with the strings. UTF-8 is, except that every lone surrogate becomes U+FFFD, so a
 * string with any surrogate is hashed as bytes FF FF followed by its UTF-16 code units, which are one-to-one. No UTF-8
 * text holds a byte FF, so the two kinds of input never meet.
 */
export const digest = (s: string): string =>
  SURROGATE.test(s) ? hash('sha256', Buffer.from(`\uffff${s}`, 'utf16le'), 'binary') : hash('sha256', s, 'binary')

const SURROGATE = /[\ud800-\udfff]/

// Two digests compared char by char, every char, without an early exit. Only digests are ever compared, so even a
// timing difference would tell how much of a SHA-256 matched, which says nothing about the secret.
const sameDigest = (a: string, b: string): boolean => {
  let diff = a.length ^ b.length
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

/** True when `candidate` is one of the secrets whose digests are `digests`; every one is compared. */
export const matchesAny = (digests: ReadonlyArray<string>, candidate: string): boolean => {
  const d = digest(candidate)
  let found = false
  for (const secret of digests) found = sameDigest(secret, d) || found
  return found
}

/** HMAC-SHA256 of `content` under `key`. */
export const hmacSha256 = (key: Uint8Array, content: ReadonlyArray<string | Uint8Array>): Buffer => {
  const mac = createHmac('sha256', key)
  for (const part of content) mac.update(part)
  return mac.digest()
}

/** True when one of `received` equals one of `expected` (signatures); every pair is compared. */
export const signatureMatchesAny = (expected: ReadonlyArray<Buffer>, received: ReadonlyArray<Buffer>): boolean => {
  let found = false
  for (const e of expected) {
    for (const r of received) found = (r.length === e.length && timingSafeEqual(r, e)) || found
  }
  return found
}
