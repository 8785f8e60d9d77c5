import * as t from 'io-ts'
import { NO_MATCH, withFastPath } from './compile/fast-path.js'

// Building blocks shared by the partner codecs. Every check is a strict pattern or arithmetic bound applied before
// conversion, because `Number()` ("1e3", " 12", "0x1f") and `Date.parse` ("2018-02-31") are lax. The custom codecs
// declare fast paths for `compileDecoder` (issue 16).

/** The brand of {@link DigitString}: a string checked to hold digits only. */
export interface DigitStringBrand {
  readonly DigitString: unique symbol
}

// /^[0-9]+$/, read by char code: about half the time of the regular expression.
const isDigits = (s: string): s is t.Branded<string, DigitStringBrand> => {
  if (s.length === 0) return false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return false
  }
  return true
}

/** A non-empty string of ASCII digits: no sign, space, exponent or hex. */
export const DigitString = t.brand(t.string, isDigits, 'DigitString')
export type DigitString = t.TypeOf<typeof DigitString>

const numberFromDigits = (u: unknown): number | undefined => {
  if (typeof u !== 'string' || !isDigits(u)) return undefined
  const n = Number(u)
  return Number.isSafeInteger(n) ? n : undefined
}

/** A digit string decoded to a number; values past `Number.MAX_SAFE_INTEGER` are rejected rather than rounded. */
export const NumberFromDigitString = withFastPath(
  new t.Type<number, string, unknown>(
    'NumberFromDigitString (digits, at most 2^53 - 1)',
    (u): u is number => typeof u === 'number' && Number.isSafeInteger(u) && u >= 0,
    (u, c) => {
      if (typeof u !== 'string' || !isDigits(u)) return t.failure(u, c)
      const n = numberFromDigits(u)
      return n === undefined ? t.failure(u, c, `expected digits up to ${Number.MAX_SAFE_INTEGER}, got a larger number`) : t.success(n)
    },
    String
  ),
  (u) => numberFromDigits(u) ?? NO_MATCH
)

/** The brand of {@link Uuid}: a string checked to be a textual UUID. */
export interface UuidBrand {
  readonly Uuid: unique symbol
}

/** An RFC 9562 textual UUID, 8-4-4-4-12 hex digits in either case. */
export const Uuid = t.brand(
  t.string,
  (s): s is t.Branded<string, UuidBrand> => /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s),
  'Uuid'
)
export type Uuid = t.TypeOf<typeof Uuid>

/** An integer a JavaScript number holds exactly: `1.5`, `"100"`, `1e400` and 2^53 are all rejected. */
export const SafeInteger = t.refinement(t.number, Number.isSafeInteger, 'SafeInteger')

/** A safe integer of at least 1 (identifiers). */
export const PositiveInteger = t.refinement(SafeInteger, (n) => n >= 1, 'PositiveInteger')

// Date-times are read by char code, with the epoch computed by arithmetic: about an eighth of the time of the
// regular expressions and Date calls this replaced (issue 16). The grammars, in regex form:
//   ISO 8601 (Musement): ^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$
//     Date, `T`, time, optional fraction, then `Z` or a numeric offset with or without the colon. The colon-less
//     form (`+0000`) is what Musement documents; RFC 3339 alone would reject real traffic.
//   RFC 3339 §5.6 `date-time`, which JSON Schema's `format: date-time` names:
//     ^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$
//     The offset needs its colon, `T` and `Z` may be lower case (§5.6 note), the fraction has any length, and second
//     60 exists for leap seconds (§5.7).

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
const isLeap = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
const daysInMonth = (year: number, month: number): number => (month === 2 && isLeap(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0))

// Instants whose UTC form still has a four-digit year, so `toISOString()` output always decodes again.
const MIN_MS = new Date(0).setUTCFullYear(0, 0, 1)
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999)
const DAY_MS = 86_400_000

// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil); exact for years 0-9999, and
// unlike Date.UTC it does not map years 0-99 to 1900-1999.
const daysFromCivil = (year: number, month: number, day: number): number => {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yearOfEra = y - era * 400
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1
  return era * 146_097 + yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear - 719_468
}

// The digit at `i` as a number, or -1 (also past the end, where charCodeAt gives NaN).
const digitAt = (s: string, i: number): number => {
  const d = s.charCodeAt(i) - 48
  return d >= 0 && d <= 9 ? d : -1
}
const twoDigitsAt = (s: string, i: number): number => {
  const a = digitAt(s, i)
  const b = digitAt(s, i + 1)
  return a < 0 || b < 0 ? -1 : a * 10 + b
}

const PLUS = 43
const MINUS = 45
const DOT = 46
const COLON = 58
const UPPER_T = 84
const UPPER_Z = 90

interface Profile {
  readonly lowerCase: boolean
  readonly maxFraction: number
  readonly colonOptional: boolean
  readonly leapSeconds: boolean
}
const ISO_8601: Profile = { lowerCase: false, maxFraction: 9, colonOptional: true, leapSeconds: false }
const RFC_3339: Profile = { lowerCase: true, maxFraction: Infinity, colonOptional: false, leapSeconds: true }

// `T` or `Z` at `i`, in lower case too if the profile allows it (0x20 is the ASCII case bit).
const isLetter = (s: string, i: number, upper: number, p: Profile): boolean => {
  const c = s.charCodeAt(i)
  return c === upper || (p.lowerCase && c === (upper | 0x20))
}

// The offset at `i` in ms east of UTC, or undefined if the rest of `s` is not exactly a zone designator.
const readOffset = (s: string, i: number, p: Profile): number | undefined => {
  if (isLetter(s, i, UPPER_Z, p)) return i + 1 === s.length ? 0 : undefined
  const sign = s.charCodeAt(i)
  if (sign !== PLUS && sign !== MINUS) return undefined
  const hours = twoDigitsAt(s, i + 1)
  const colon = s.charCodeAt(i + 3) === COLON
  if (!colon && !p.colonOptional) return undefined
  const at = colon ? i + 4 : i + 3
  const minutes = twoDigitsAt(s, at)
  if (hours < 0 || minutes < 0 || at + 2 !== s.length || hours > 23 || minutes > 59) return undefined
  return (sign === MINUS ? -1 : 1) * (hours * 60 + minutes) * 60_000
}

const readDateTime = (s: string, p: Profile): number | undefined => {
  const century = twoDigitsAt(s, 0)
  const yy = twoDigitsAt(s, 2)
  const month = twoDigitsAt(s, 5)
  const day = twoDigitsAt(s, 8)
  const hour = twoDigitsAt(s, 11)
  const minute = twoDigitsAt(s, 14)
  const second = twoDigitsAt(s, 17)
  const separators = s.charCodeAt(4) === MINUS && s.charCodeAt(7) === MINUS && isLetter(s, 10, UPPER_T, p)
  if (!separators || s.charCodeAt(13) !== COLON || s.charCodeAt(16) !== COLON) return undefined
  const year = century * 100 + yy
  if (century < 0 || yy < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > (p.leapSeconds ? 60 : 59)) return undefined
  let i = 19
  let millis = 0
  if (s.charCodeAt(i) === DOT) {
    const start = ++i
    for (let d = digitAt(s, i); d >= 0; d = digitAt(s, ++i)) if (i - start < 3) millis = millis * 10 + d
    const digits = i - start
    if (digits === 0 || digits > p.maxFraction) return undefined
    // Milliseconds are the first three digits, the rest is cut: `.5` is 500 ms, `.123456789` is 123 ms.
    millis *= digits === 1 ? 100 : digits === 2 ? 10 : 1
  }
  const offset = readOffset(s, i, p)
  if (offset === undefined) return undefined
  // Second 60 rolls over to the next minute, as Date.setUTCHours does.
  const ms = daysFromCivil(year, month, day) * DAY_MS + ((hour * 60 + minute) * 60 + second) * 1000 + millis - offset
  // A leap second is only ever inserted as 23:59:60 UTC; `Date` has none, so it becomes the next second.
  if (second === 60 && (((ms - 1000) % DAY_MS) + DAY_MS) % DAY_MS < DAY_MS - 60_000) return undefined
  return ms < MIN_MS || ms > MAX_MS ? undefined : ms
}

/** Parses a strict ISO 8601 date-time (Musement's form, see {@link DateTimeFromString}) into epoch ms, or `undefined`. */
export const parseDateTime = (s: string): number | undefined => readDateTime(s, ISO_8601)

/** Parses an RFC 3339 `date-time` (see {@link DateTimeFromRfc3339}) into epoch ms, or `undefined`. */
export const parseRfc3339 = (s: string): number | undefined => readDateTime(s, RFC_3339)

const dateTimeCodec = (name: string, parse: (s: string) => number | undefined) =>
  withFastPath(
    new t.Type<Date, string, unknown>(
      name,
      (u): u is Date => u instanceof Date && !Number.isNaN(u.getTime()),
      (u, c) => {
        const ms = typeof u === 'string' ? parse(u) : undefined
        return ms === undefined ? t.failure(u, c) : t.success(new Date(ms))
      },
      (d) => d.toISOString()
    ),
    (u) => {
      const ms = typeof u === 'string' ? parse(u) : undefined
      return ms === undefined ? NO_MATCH : new Date(ms)
    }
  )

/**
 * An ISO 8601 date-time string decoded to a `Date`: `2018-12-10T13:12:40+0000`, `...+02:00`, `...Z`, up to nine
 * fraction digits. Date-only values, a space instead of `T`, impossible dates (`2018-02-31`) and hour 24 or more are
 * rejected. Encodes back with `toISOString()`.
 */
export const DateTimeFromString = dateTimeCodec('DateTimeFromString (ISO 8601, e.g. 2018-12-10T13:12:40+0000)', parseDateTime)

/**
 * An RFC 3339 `date-time` (JSON Schema `format: date-time`) decoded to a `Date`: `2025-08-23T05:56:52.435Z`,
 * `...+02:00`, lower-case `t`/`z`, leap second `23:59:60Z`. A colon-less offset, a space separator and impossible
 * dates are rejected. Encodes back with `toISOString()`.
 */
export const DateTimeFromRfc3339 = dateTimeCodec('DateTimeFromRfc3339 (RFC 3339, e.g. 2025-08-23T05:56:52.435Z)', parseRfc3339)
