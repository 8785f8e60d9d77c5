import { expect } from 'chai'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { DigitString, parseDateTime, parseRfc3339 } from '../../lib/core/codecs.js'

// The char-code readers in core/codecs.ts replaced regular expressions (issue 16). The expressions and the epoch
// arithmetic they fed (commit 0c60be1) are kept here verbatim, as the oracle: the readers must accept exactly the same strings and
// give the same epoch ms. The seed is in the suite's title; FC_SEED replays a run.
const SEED = process.env.FC_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FC_SEED)
const RUNS = 20_000

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):?(\d{2}))$/
const RFC_3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
const isLeap = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
const daysInMonth = (year: number, month: number): number => (month === 2 && isLeap(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0))
const MIN_MS = new Date(0).setUTCFullYear(0, 0, 1)
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

const toEpochMs = (m: RegExpExecArray, leapSeconds: boolean): number | undefined => {
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map(Number)
  const [fraction = '', zulu, sign, offsetHours = '0', offsetMinutes = '0'] = m.slice(7)
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  if (hour > 23 || minute > 59 || second > (leapSeconds ? 60 : 59)) return undefined
  const oh = Number(offsetHours)
  const om = Number(offsetMinutes)
  if (oh > 23 || om > 59) return undefined
  const offset = zulu !== undefined ? 0 : (sign === '-' ? -1 : 1) * (oh * 60 + om) * 60_000
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  const ms = date.setUTCHours(hour, minute, second, Number(fraction.padEnd(3, '0').slice(0, 3))) - offset
  if (second === 60 && new Date(ms - 1000).getUTCHours() * 60 + new Date(ms - 1000).getUTCMinutes() !== 23 * 60 + 59) return undefined
  return ms < MIN_MS || ms > MAX_MS ? undefined : ms
}
const regexDateTime = (s: string): number | undefined => {
  const m = ISO_8601.exec(s)
  return m === null ? undefined : toEpochMs(m, false)
}
const regexRfc3339 = (s: string): number | undefined => {
  const m = RFC_3339.exec(s)
  return m === null ? undefined : toEpochMs(m, true)
}

// ---- Strings on and around the grammar ----

const digits = (n: number, max = 10 ** n - 1, min = 0) => fc.integer({ min, max }).map((v) => String(v).padStart(n, '0'))
// Mostly valid parts, sometimes just out of bounds, so that both answers come up often.
const mostly = <T>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 12 }, { arbitrary: other, weight: 1 })
const zone = mostly(
  fc.oneof(
    fc.constantFrom('Z', 'z'),
    fc.tuple(fc.constantFrom('+', '-'), digits(2, 23), fc.constantFrom(':', ''), digits(2, 59)).map((parts) => parts.join(''))
  ),
  fc.oneof(
    fc.constantFrom('', '+', '-', 'Z ', 'UTC'),
    fc.tuple(fc.constantFrom('+', '-'), digits(2, 29), fc.constantFrom(':', '', '::'), digits(2, 69)).map((parts) => parts.join('')),
    fc.tuple(fc.constantFrom('+', '-'), digits(2, 29), fc.constantFrom('', ':')).map((parts) => parts.join(''))
  )
)
const fraction = mostly(fc.oneof(fc.constant(''), fc.stringMatching(/^\.[0-9]{1,9}$/)), fc.oneof(fc.constant('.'), fc.stringMatching(/^\.[0-9]{10,14}$/)))
// Leap days, month ends and the 23:59:60 leap second come up often: every part is drawn close to its bounds.
const nearDateTime = fc
  .tuple(
    fc.oneof(digits(4), fc.constantFrom('0000', '9999', '1900', '2000', '2016', '2024', '1970')),
    mostly(digits(2, 12, 1), digits(2)),
    mostly(fc.oneof(digits(2, 28, 1), fc.constantFrom('29', '30', '31')), digits(2)),
    mostly(fc.constantFrom('T', 't'), fc.constantFrom(' ', 'TT', '')),
    mostly(fc.oneof(digits(2, 23), fc.constant('23')), digits(2)),
    mostly(fc.oneof(digits(2, 59), fc.constant('59')), digits(2)),
    mostly(fc.oneof(digits(2, 59), fc.constantFrom('59', '60')), digits(2)),
    fraction,
    zone
  )
  .map(([y, mo, d, t, h, mi, s, f, z]) => `${y}-${mo}-${d}${t}${h}:${mi}:${s}${f}${z}`)

// One to three edits: a character deleted, replaced or inserted, from the grammar's own alphabet and some others.
const ALPHABET = '0123456789-:+.TtZz x\u0661\uff10'
const edited = fc
  .tuple(nearDateTime, fc.array(fc.tuple(fc.nat(), fc.constantFrom('delete', 'replace', 'insert'), fc.constantFrom(...ALPHABET)), { minLength: 1, maxLength: 3 }))
  .map(([s, edits]) =>
    edits.reduce((acc, [at, action, c]) => {
      const i = acc.length === 0 ? 0 : at % acc.length
      if (action === 'delete') return acc.slice(0, i) + acc.slice(i + 1)
      if (action === 'replace') return acc.slice(0, i) + c + acc.slice(i + 1)
      return acc.slice(0, i) + c + acc.slice(i)
    }, s)
  )

const strings = fc.oneof(
  { arbitrary: nearDateTime, weight: 4 },
  { arbitrary: edited, weight: 2 },
  { arbitrary: fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 40 }), weight: 1 },
  { arbitrary: fc.string(), weight: 1 }
)

describe(`core/codecs: char-code readers agree with the regular expressions they replaced (FC_SEED=${SEED})`, () => {
  it(`parseDateTime and parseRfc3339 give the regex versions' answer (${RUNS} strings each)`, () => {
    let acceptedIso = 0
    let acceptedRfc = 0
    fc.assert(
      fc.property(strings, (s) => {
        const iso = parseDateTime(s)
        const rfc = parseRfc3339(s)
        expect(iso, `ISO 8601: ${JSON.stringify(s)}`).to.equal(regexDateTime(s))
        expect(rfc, `RFC 3339: ${JSON.stringify(s)}`).to.equal(regexRfc3339(s))
        if (iso !== undefined) acceptedIso++
        if (rfc !== undefined) acceptedRfc++
      }),
      { seed: SEED, numRuns: RUNS }
    )
    // Agreement on refusals alone would prove little: a good share of the strings must be accepted.
    expect(acceptedIso, 'accepted ISO 8601 strings').to.be.above(RUNS / 20)
    expect(acceptedRfc, 'accepted RFC 3339 strings').to.be.above(RUNS / 20)
  })

  it('agree at the edges of the range, on leap seconds and on fractions', () => {
    const cases = [
      '0000-01-01T00:00:00Z', '0000-01-01T00:00:00+00:01', '0000-01-01T00:59:00+00:59', '9999-12-31T23:59:59.999Z',
      '9999-12-31T23:59:59.999-00:01', '9999-12-31T23:59:60Z', '2016-12-31T23:59:60Z', '2016-12-31T23:59:60.999Z',
      '2017-01-01T00:59:60+01:00', '2016-12-31T22:59:60-01:00', '2016-12-30T23:59:60Z', '2016-12-31T23:58:60Z',
      '0000-02-29T00:00:00Z', '0100-02-29T00:00:00Z', '0400-02-29T12:00:00Z', '2018-12-10T13:12:40.1234567890Z',
      '2018-12-10T13:12:40.123456789Z', '2018-12-10T13:12:40.12Z', '2018-12-10T13:12:40.1+0000', '2018-12-10T13:12:40+23:59',
      '2018-12-10T13:12:40-2359', '2018-12-10T13:12:40+24:00', '2018-12-10t13:12:40z', '2018-12-10T13:12:40z'
    ]
    for (const s of cases) {
      expect(parseDateTime(s), s).to.equal(regexDateTime(s))
      expect(parseRfc3339(s), s).to.equal(regexRfc3339(s))
    }
    expect(cases.filter((s) => parseRfc3339(s) !== undefined)).to.have.length.above(10)
  })

  it('DigitString accepts exactly what its regular expression matched', () => {
    let digits = 0
    const near = fc.string({ unit: fc.constantFrom(...'0123456789/:a -+.\u0661\uff10'), maxLength: 20 })
    fc.assert(
      fc.property(fc.oneof(near, fc.stringMatching(/^[0-9]{0,20}$/), fc.string()), (s) => {
        const matches = /^[0-9]+$/.test(s)
        expect(E.isRight(DigitString.decode(s)), JSON.stringify(s)).to.equal(matches)
        if (matches) digits++
      }),
      { seed: SEED, numRuns: RUNS / 4 }
    )
    expect(digits, 'accepted digit strings').to.be.above(RUNS / 40)
  })
})
