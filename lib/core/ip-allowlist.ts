import * as E from 'fp-ts/lib/Either.js'
import { ipForbidden, type Problem } from './problem.js'

// Every address is held as a 128-bit number in IPv6 space, an IPv4 address as its IPv4-mapped form ::ffff:a.b.c.d
// (RFC 4291 §2.5.5.2). Node reports IPv4 peers of a dual-stack socket in that form, so `1.2.3.4` and `::ffff:1.2.3.4`
// are the same address here, and an IPv4 range /n is the mapped range /(96 + n).

/** A CIDR range in IPv6 space: the addresses whose bits under `mask` equal `network`'s. */
export interface IpRange {
  readonly network: bigint
  readonly mask: bigint
}

/** Tells whether a peer address (as Express reports it in `req.ip`) is allowed. */
export type IpAllowlist = (address: string | undefined) => boolean

const IPV4_MAPPED = 0xffffn << 32n
// The longest textual form: 0000:0000:0000:0000:0000:ffff:255.255.255.255. `req.ip` can be any string a client put
// in X-Forwarded-For (proxy-addr does not validate it), so longer input is refused before any parsing.
const MAX_ADDRESS_LENGTH = 45
const DECIMAL = /^(?:0|[1-9][0-9]{0,2})$/
const HEXTET = /^[0-9a-fA-F]{1,4}$/

// Four decimal octets without leading zeros: `010.0.0.1` is octal to some parsers and decimal to others, so it is
// refused rather than guessed at (Node's net.isIPv4 refuses it too).
const parseIpv4 = (s: string): bigint | undefined => {
  const parts = s.split('.')
  if (parts.length !== 4) return undefined
  let n = 0n
  for (const part of parts) {
    if (!DECIMAL.test(part) || Number(part) > 255) return undefined
    n = (n << 8n) | BigInt(part)
  }
  return n
}

// The 16-bit groups of one side of `::`; the last group of the address may be a dotted IPv4 address (two groups).
const hextets = (part: string, mayEndInIpv4: boolean): number[] | undefined => {
  if (part === '') return []
  const items = part.split(':')
  const groups: number[] = []
  for (const [i, item] of items.entries()) {
    if (mayEndInIpv4 && i === items.length - 1 && item.includes('.')) {
      const v4 = parseIpv4(item)
      if (v4 === undefined) return undefined
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn))
    } else if (HEXTET.test(item)) groups.push(parseInt(item, 16))
    else return undefined
  }
  return groups
}

// RFC 4291 §2.2: eight groups, or fewer with one `::` standing for one or more groups of zeros. No zone index.
const parseIpv6 = (s: string): bigint | undefined => {
  const halves = s.split('::')
  if (halves.length > 2) return undefined
  const [head = '', tail] = halves
  const left = hextets(head, tail === undefined)
  const right = tail === undefined ? [] : hextets(tail, true)
  if (left === undefined || right === undefined) return undefined
  const explicit = left.length + right.length
  if (tail === undefined ? explicit !== 8 : explicit > 7) return undefined
  const groups = [...left, ...Array.from({ length: 8 - explicit }, () => 0), ...right]
  return groups.reduce((n, g) => (n << 16n) | BigInt(g), 0n)
}

/** An IPv4 or IPv6 address as a number in IPv6 space (IPv4 mapped), or `undefined` when `s` is not one. */
export const parseAddress = (s: string): bigint | undefined => {
  if (s.length > MAX_ADDRESS_LENGTH) return undefined
  if (s.includes(':')) return parseIpv6(s)
  const v4 = parseIpv4(s)
  return v4 === undefined ? undefined : IPV4_MAPPED | v4
}

const maskOf = (prefix: number): bigint => (prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(128 - prefix))

const formatAddress = (n: bigint, ipv4: boolean): string => {
  if (ipv4) return [24n, 16n, 8n, 0n].map((shift) => String((n >> shift) & 0xffn)).join('.')
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) => ((n >> shift) & 0xffffn).toString(16))
  // RFC 5952 §4.2: the first longest run of two or more zero groups becomes `::`.
  let run = { start: -1, length: 1 }
  for (let i = 0, j = 0; i < groups.length; i = Math.max(i + 1, j)) {
    for (j = i; groups[j] === '0'; ) j++
    if (j - i > run.length) run = { start: i, length: j - i }
  }
  if (run.start < 0) return groups.join(':')
  return `${groups.slice(0, run.start).join(':')}::${groups.slice(run.start + run.length).join(':')}`
}

/**
 * An allowlist entry: an address (`203.0.113.7`, `2001:db8::1`, `::ffff:203.0.113.7`) or a CIDR range
 * (`203.0.113.0/24`, `2001:db8::/32`). Left: why the entry is refused, to finish a sentence naming it.
 */
export const parseRange = (entry: string): E.Either<string, IpRange> => {
  const [address = '', prefixText, ...rest] = entry.split('/')
  const n = parseAddress(address)
  if (n === undefined) return E.left('is not an IPv4 or IPv6 address (nor a CIDR range such as 203.0.113.0/24 or 2001:db8::/32)')
  if (prefixText === undefined) return E.right({ network: n, mask: maskOf(128) })
  const ipv4 = !address.includes(':')
  const max = ipv4 ? 32 : 128
  if (rest.length > 0 || !DECIMAL.test(prefixText) || Number(prefixText) > max) return E.left(`has a prefix length outside 0-${max}`)
  const mask = maskOf(Number(prefixText) + (ipv4 ? 96 : 0))
  // A set host bit usually means a mistyped range; masking it silently would allow another network than intended.
  if ((n & ~mask) !== 0n) return E.left(`has bits set past its prefix; did you mean ${formatAddress(n & mask, ipv4)}/${prefixText}?`)
  return E.right({ network: n, mask })
}

/** An allowlist over `ranges`; an address that does not parse (a garbled X-Forwarded-For entry) is never allowed. */
export const ipAllowlist =
  (ranges: ReadonlyArray<IpRange>): IpAllowlist =>
  (address) => {
    const n = address === undefined ? undefined : parseAddress(address)
    return n !== undefined && ranges.some((r) => ((n ^ r.network) & r.mask) === 0n)
  }

/** The source-address check of the pipeline: 403 for an address outside the allowlist, if there is one. */
export const checkSource = (allow: IpAllowlist | undefined, address: string | undefined): E.Either<Problem, void> =>
  allow === undefined || allow(address) ? E.right(undefined) : E.left(ipForbidden())
