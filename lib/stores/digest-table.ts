import { digest } from '../core/compare.js'

export { digest }

// A {@link DigestTable} keeps the first 16 bytes of a string's `digest` (its SHA-256, from core/compare.ts).
//
// Why a 128-bit digest may stand in for the string itself: the table answers "remembered" for a string it never saw
// only if that string's digest equals a remembered one's. SHA-256 cut to 128 bits behaves like a random function, so
// with n strings remembered each lookup of a new one matches by chance with probability n / 2^128: at a million
// remembered, 3e-33; over 10^15 lookups (a million a second for 30 years), 3e-18. Matching one on purpose is a
// second preimage of SHA-256, about 2^128 hashes. Keeping digests in typed arrays instead of the strings in Maps took
// a remembered Musement delivery from 256 bytes to 71 (see DEFAULT_MAX_ENTRIES).

const word = (d: string, i: number): number =>
  d.charCodeAt(i) | (d.charCodeAt(i + 1) << 8) | (d.charCodeAt(i + 2) << 16) | (d.charCodeAt(i + 3) << 24)

/**
 * Digest -> expiry (and one number), oldest first: what `memoryStore` remembers, in typed arrays. In a Map an entry
 * costs about a key string (72 bytes for a Musement key), a 24-byte entry and a 16-byte boxed expiry; here it is
 * 16 bytes of digest, an 8-byte expiry, an optional 8-byte value and about 6 bytes of hash chain.
 */
export interface DigestTable {
  /** The slot of `d`'s entry if it is remembered and unexpired at `t`, else -1. An expired entry is dropped. */
  find(d: string, t: number): number
  /** The number remembered with the entry in `slot` (0 for a table without values). */
  valueAt(slot: number): number
  /** Remembers `d` until `expiresAt`, as the newest entry, after dropping the expired ones and, if full, the oldest. */
  put(d: string, expiresAt: number, value: number, t: number): void
  /** Entries remembered, expired ones not yet dropped included. */
  readonly size: number
}

const MIN_CAPACITY = 16
const END = -1 // ends a hash chain
const FREE = -2 // in `next`: the slot holds no entry (dropped, or never used)

/** A table of at most `max` entries, each with a number if `withValues`; the oldest go first. */
export const digestTable = (max: number, withValues: boolean): DigestTable => {
  // Slots form a ring in insertion order (head = oldest), and every entry lives a fixed time from its insertion, so
  // the oldest entry is also the next to expire: both leave from the head, in O(1). A re-put or an expired lookup
  // leaves a hole in the ring; a full ring is compacted into new arrays, and grown if it is more than 3/4 entries.
  // The ring never needs more than a third above `max` slots: there, compacting a full ring frees at least a quarter
  // of it, so the copying stays amortized O(1) per put without doubling the memory a full store holds.
  const limit = Math.max(MIN_CAPACITY, Math.ceil((max * 4) / 3) + 1)
  let capacity = 0
  let words = new Int32Array(0) // 4 per slot: the digest's first 16 bytes
  let expiry = new Float64Array(0)
  let values = new Float64Array(0)
  let next = new Int32Array(0) // the next slot in the same bucket's chain, END, or FREE
  let buckets = new Int32Array(0) // the first slot of each chain, indexed by the digest's low bits (it is uniform)
  let head = 0
  let used = 0 // slots from head, holes included
  let size = 0

  const allocate = (slots: number): void => {
    capacity = slots
    words = new Int32Array(4 * slots)
    expiry = new Float64Array(slots)
    values = new Float64Array(withValues ? slots : 0)
    next = new Int32Array(slots).fill(FREE)
    let chains = 8
    while (chains * 2 < slots) chains *= 2
    buckets = new Int32Array(chains).fill(END)
    head = 0
    used = 0
    size = 0
  }

  const lookup = (w0: number, w1: number, w2: number, w3: number): number => {
    let s = buckets[w0 & (buckets.length - 1)] ?? END
    while (s !== END) {
      const o = 4 * s
      if (words[o] === w0 && words[o + 1] === w1 && words[o + 2] === w2 && words[o + 3] === w3) return s
      s = next[s] ?? END
    }
    return END
  }

  const append = (w0: number, w1: number, w2: number, w3: number, expiresAt: number, value: number): void => {
    let s = head + used
    if (s >= capacity) s -= capacity
    const o = 4 * s
    words[o] = w0
    words[o + 1] = w1
    words[o + 2] = w2
    words[o + 3] = w3
    expiry[s] = expiresAt
    if (withValues) values[s] = value
    const b = w0 & (buckets.length - 1)
    next[s] = buckets[b] ?? END
    buckets[b] = s
    used++
    size++
  }

  // Unlinks the entry from its chain; its slot stays in the ring as a hole until the head passes it or a compaction.
  const drop = (s: number): void => {
    const b = (words[4 * s] ?? 0) & (buckets.length - 1)
    const after = next[s] ?? END
    let p = buckets[b] ?? END
    if (p === s) buckets[b] = after
    else {
      while (p !== END && next[p] !== s) p = next[p] ?? END
      if (p !== END) next[p] = after
    }
    next[s] = FREE
    size--
  }

  // Copies the entries, oldest first, into `slots` fresh slots.
  const rebuild = (slots: number): void => {
    const oldWords = words
    const oldExpiry = expiry
    const oldValues = values
    const oldNext = next
    const oldHead = head
    const oldUsed = used
    const oldCapacity = capacity
    allocate(slots)
    for (let i = 0; i < oldUsed; i++) {
      const s = oldHead + i < oldCapacity ? oldHead + i : oldHead + i - oldCapacity
      if (oldNext[s] === FREE) continue
      const o = 4 * s
      append(oldWords[o] ?? 0, oldWords[o + 1] ?? 0, oldWords[o + 2] ?? 0, oldWords[o + 3] ?? 0, oldExpiry[s] ?? 0, oldValues[s] ?? 0)
    }
  }

  allocate(MIN_CAPACITY)

  const find = (d: string, t: number): number => {
    const s = lookup(word(d, 0), word(d, 4), word(d, 8), word(d, 12))
    if (s === END) return -1
    if ((expiry[s] ?? 0) > t) return s
    drop(s)
    return -1
  }

  const put = (d: string, expiresAt: number, value: number, t: number): void => {
    const w0 = word(d, 0)
    const w1 = word(d, 4)
    const w2 = word(d, 8)
    const w3 = word(d, 12)
    const old = lookup(w0, w1, w2, w3)
    if (old !== END) drop(old)
    while (used > 0) {
      if (next[head] !== FREE) {
        if ((expiry[head] ?? 0) > t && size < max) break
        drop(head)
      }
      head = head + 1 === capacity ? 0 : head + 1
      used--
    }
    if (size < capacity / 4 && capacity > MIN_CAPACITY) rebuild(Math.max(MIN_CAPACITY, Math.ceil(capacity / 2)))
    else if (used === capacity) rebuild(size + 1 > (capacity * 3) / 4 ? Math.min(2 * capacity, limit) : capacity)
    append(w0, w1, w2, w3, expiresAt, value)
  }

  return {
    find,
    valueAt: (slot) => values[slot] ?? 0,
    put,
    get size() {
      return size
    }
  }
}
