import * as t from 'io-ts'

// Building blocks shared by the partner codecs. Every check is a strict regular expression or arithmetic bound
// applied before conversion, because `Number()` ("1e3", " 12", "0x1f") and `Date.parse` ("2018-02-31") are lax.

export interface DigitStringBrand {
  readonly DigitString: unique symbol
}

/** A non-empty string of ASCII digits: no sign, space, exponent or hex. */
export const DigitString = t.brand(
  t.string,
  (s): s is t.Branded<string, DigitStringBrand> => /^[0-9]+$/.test(s),
  'DigitString'
)
export type DigitString = t.TypeOf<typeof DigitString>

/** A digit string decoded to a number; values past `Number.MAX_SAFE_INTEGER` are rejected rather than rounded. */
export const NumberFromDigitString = new t.Type<number, string, unknown>(
  'NumberFromDigitString (digits, at most 2^53 - 1)',
  (u): u is number => typeof u === 'number' && Number.isSafeInteger(u) && u >= 0,
  (u, c) => {
    if (typeof u !== 'string' || !/^[0-9]+$/.test(u)) return t.failure(u, c)
    const n = Number(u)
    return Number.isSafeInteger(n) ? t.success(n) : t.failure(u, c, `expected digits up to ${Number.MAX_SAFE_INTEGER}, got a larger number`)
  },
  String
)

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

// Date, `T`, time, optional fraction, then `Z` or a numeric offset with or without the colon. The colon-less form
// (`+0000`) is what Musement documents; RFC 3339 alone would reject real traffic.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):?(\d{2}))$/

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
const isLeap = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
const daysInMonth = (year: number, month: number): number => (month === 2 && isLeap(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0))

/** Parses a strict ISO 8601 date-time into epoch milliseconds, or `undefined` if it is not one. */
export const parseDateTime = (s: string): number | undefined => {
  const m = DATE_TIME.exec(s)
  if (m === null) return undefined
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number)
  const [fraction = '', zulu, sign, offsetHours = '0', offsetMinutes = '0'] = m.slice(7)
  if (year === undefined || month === undefined || day === undefined) return undefined
  if (hour === undefined || minute === undefined || second === undefined) return undefined
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  if (hour > 23 || minute > 59 || second > 59) return undefined
  const oh = Number(offsetHours)
  const om = Number(offsetMinutes)
  if (oh > 23 || om > 59) return undefined
  const offset = zulu === 'Z' ? 0 : (sign === '-' ? -1 : 1) * (oh * 60 + om) * 60_000
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, Number(fraction.padEnd(3, '0').slice(0, 3))))
  date.setUTCFullYear(year)
  return date.getTime() - offset
}

/**
 * An ISO 8601 date-time string decoded to a `Date`: `2018-12-10T13:12:40+0000`, `...+02:00`, `...Z`, fractions of a
 * second. Date-only values, a space instead of `T`, impossible dates (`2018-02-31`) and hour 24 or more are rejected.
 * Encodes back with `toISOString()`.
 */
export const DateTimeFromString = new t.Type<Date, string, unknown>(
  'DateTimeFromString (ISO 8601, e.g. 2018-12-10T13:12:40+0000)',
  (u): u is Date => u instanceof Date && !Number.isNaN(u.getTime()),
  (u, c) => {
    if (typeof u !== 'string') return t.failure(u, c)
    const ms = parseDateTime(u)
    return ms === undefined ? t.failure(u, c) : t.success(new Date(ms))
  },
  (d) => d.toISOString()
)
