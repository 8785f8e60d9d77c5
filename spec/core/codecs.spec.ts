import { expect } from 'chai'
import * as E from 'fp-ts/lib/Either.js'
import { DateTimeFromRfc3339, DateTimeFromString, DigitString, NumberFromDigitString, PositiveInteger, SafeInteger, Uuid } from '../../lib/core/codecs.js'

const accepts = (decode: (u: unknown) => E.Either<unknown, unknown>, u: unknown): boolean => E.isRight(decode(u))

describe('core/codecs', () => {
  describe('DateTimeFromString', () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ['2018-12-10T13:12:40+0000', '2018-12-10T13:12:40.000Z'], // Musement's documented form: offset without colon
      ['2018-12-10T13:12:40+00:00', '2018-12-10T13:12:40.000Z'],
      ['2018-12-10T13:12:40Z', '2018-12-10T13:12:40.000Z'],
      ['2018-12-10T15:12:40+02:00', '2018-12-10T13:12:40.000Z'],
      ['2018-12-10T15:12:40+0200', '2018-12-10T13:12:40.000Z'],
      ['2018-12-10T08:42:40-04:30', '2018-12-10T13:12:40.000Z'],
      ['2018-12-10T13:12:40.5Z', '2018-12-10T13:12:40.500Z'],
      ['2018-12-10T13:12:40.123456789+0000', '2018-12-10T13:12:40.123Z'],
      ['2025-08-23T05:56:52.435Z', '2025-08-23T05:56:52.435Z'],
      ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'], // leap year
      ['2000-02-29T23:59:59Z', '2000-02-29T23:59:59.000Z'], // divisible by 400
      ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'] // years below 100 are not shifted to 19xx
    ]
    for (const [input, iso] of cases) {
      it(`accepts ${input}`, () => {
        const result = DateTimeFromString.decode(input)
        expect(E.isRight(result) && result.right.toISOString()).to.equal(iso)
      })
    }

    const rejected = [
      '2018-12-10', // date only
      '2018-12-10 13:12:40+0000', // space separator
      '2018-12-10T13:12:40', // no offset
      '2018-02-31T00:00:00Z', // impossible date
      '2019-02-29T00:00:00Z', // not a leap year
      '1900-02-29T00:00:00Z', // divisible by 100, not by 400
      '2018-13-01T00:00:00Z',
      '2018-00-01T00:00:00Z',
      '2018-12-00T00:00:00Z',
      '2018-12-10T25:00:00Z', // hour 25
      '2018-12-10T24:00:00Z',
      '2018-12-10T13:60:00Z',
      '2018-12-10T13:12:60Z',
      '2018-12-10T13:12:40+2400',
      '2018-12-10T13:12:40+00:60',
      '2018-12-10T13:12:40+00',
      '2018-12-10T13:12:40.Z',
      '2018-12-10T13:12:40.1234567890Z',
      '2016-12-31T23:59:60Z', // no leap seconds in Musement's ISO 8601 profile
      '2018-12-10t13:12:40z',
      '+002018-12-10T13:12:40Z',
      ' 2018-12-10T13:12:40Z',
      '2018-12-10T13:12:40Z ',
      '2018-12-10T13:12Z',
      'Mon, 10 Dec 2018 13:12:40 GMT',
      '1544447560',
      '',
      '２０１８-12-10T13:12:40Z' // full-width digits: \d would be wrong if Unicode-aware
    ]
    for (const input of rejected) it(`rejects ${JSON.stringify(input)}`, () => expect(accepts(DateTimeFromString.decode, input)).to.equal(false))

    it('rejects non-strings, including Date objects and numbers', () => {
      for (const u of [null, undefined, 1544447560000, new Date(), {}, []]) expect(accepts(DateTimeFromString.decode, u)).to.equal(false)
    })

    it('encodes to an ISO string that decodes to the same instant', () => {
      const date = new Date('2018-12-10T13:12:40.123Z')
      const again = DateTimeFromString.decode(DateTimeFromString.encode(date))
      expect(E.isRight(again) && again.right.getTime()).to.equal(date.getTime())
    })
  })

  describe('DateTimeFromRfc3339', () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ['2025-08-23T05:56:52.435Z', '2025-08-23T05:56:52.435Z'],
      ['2025-08-23t05:56:52z', '2025-08-23T05:56:52.000Z'], // RFC 3339 §5.6 note: T and Z may be lower case
      ['2025-08-23T07:56:52+02:00', '2025-08-23T05:56:52.000Z'],
      ['2025-08-23T05:56:52.123456789012Z', '2025-08-23T05:56:52.123Z'], // any number of fraction digits
      ['2016-12-31T23:59:60Z', '2017-01-01T00:00:00.000Z'], // a leap second becomes the next second
      ['2017-01-01T00:59:60+01:00', '2017-01-01T00:00:00.000Z'] // the same leap second in local time
    ]
    for (const [input, iso] of cases) {
      it(`accepts ${input}`, () => {
        const result = DateTimeFromRfc3339.decode(input)
        expect(E.isRight(result) && result.right.toISOString()).to.equal(iso)
      })
    }
    const rejected = [
      '2025-08-23T05:56:52+0000', // RFC 3339 time-numoffset needs the colon
      '2025-08-23 05:56:52Z',
      '2025-08-23T05:56:52',
      '2025-08-23T12:30:60Z', // second 60 only at 23:59 UTC
      '2025-02-29T00:00:00Z',
      '2025-08-23T05:56:52.Z'
    ]
    for (const input of rejected) it(`rejects ${JSON.stringify(input)}`, () => expect(accepts(DateTimeFromRfc3339.decode, input)).to.equal(false))
  })

  describe('date-time range', () => {
    it('refuses instants whose UTC year leaves 0000-9999, so encode output always decodes again', () => {
      expect(accepts(DateTimeFromString.decode, '9999-12-31T23:59:59-01:00')).to.equal(false)
      expect(accepts(DateTimeFromString.decode, '0000-01-01T00:00:00+01:00')).to.equal(false)
      expect(accepts(DateTimeFromString.decode, '9999-12-31T23:59:59Z')).to.equal(true)
      expect(accepts(DateTimeFromString.decode, '0000-01-01T00:00:00Z')).to.equal(true)
    })
  })

  describe('NumberFromDigitString', () => {
    it('decodes digit strings to numbers, leading zeros included', () => {
      expect(NumberFromDigitString.decode('22')).to.deep.equal(E.right(22))
      expect(NumberFromDigitString.decode('0')).to.deep.equal(E.right(0))
      expect(NumberFromDigitString.decode('007')).to.deep.equal(E.right(7))
      expect(NumberFromDigitString.decode('9007199254740991')).to.deep.equal(E.right(Number.MAX_SAFE_INTEGER))
    })
    for (const input of ['', ' 1', '1 ', '+1', '-1', '1e3', '0x1f', '1.0', '1_000', '١٢', '9007199254740992', '99999999999999999999', 22, null]) {
      it(`rejects ${JSON.stringify(input)}`, () => expect(accepts(NumberFromDigitString.decode, input)).to.equal(false))
    }
    it('says why a number past 2^53 - 1 is refused', () => {
      const result = NumberFromDigitString.decode('9007199254740993')
      expect(E.isLeft(result) && result.left[0]?.message).to.match(/up to 9007199254740991/)
    })
    it('encodes back to the digit string', () => expect(NumberFromDigitString.encode(22)).to.equal('22'))
  })

  describe('DigitString', () => {
    it('keeps the string as it is', () => expect(DigitString.decode('0013459345')).to.deep.equal(E.right('0013459345')))
    for (const input of ['', 'abc', '12a', '-1', ' 1', '1e3', 13459345]) {
      it(`rejects ${JSON.stringify(input)}`, () => expect(accepts(DigitString.decode, input)).to.equal(false))
    }
  })

  describe('Uuid', () => {
    it('accepts either case', () => {
      expect(accepts(Uuid.decode, '8e9e5c6e-ea7d-4934-8753-f00954f30d00')).to.equal(true)
      expect(accepts(Uuid.decode, '8E9E5C6E-EA7D-4934-8753-F00954F30D00')).to.equal(true)
    })
    const rejected = [
      '8e9e5c6eea7d49348753f00954f30d00', // no hyphens
      '{8e9e5c6e-ea7d-4934-8753-f00954f30d00}',
      '8e9e5c6e-ea7d-4934-8753-f00954f30d0', // short
      '8e9e5c6e-ea7d-4934-8753-f00954f30d000', // long
      'ge9e5c6e-ea7d-4934-8753-f00954f30d00', // not hex
      ' 8e9e5c6e-ea7d-4934-8753-f00954f30d00',
      ''
    ]
    for (const input of rejected) it(`rejects ${JSON.stringify(input)}`, () => expect(accepts(Uuid.decode, input)).to.equal(false))
  })

  describe('SafeInteger and PositiveInteger', () => {
    it('accept safe integers', () => {
      expect(accepts(SafeInteger.decode, 0)).to.equal(true)
      expect(accepts(SafeInteger.decode, -5)).to.equal(true)
      expect(accepts(SafeInteger.decode, Number.MAX_SAFE_INTEGER)).to.equal(true)
      expect(accepts(PositiveInteger.decode, 1)).to.equal(true)
    })
    it('reject fractions, strings, infinities and numbers past 2^53 - 1', () => {
      for (const u of [1.5, '100', Infinity, NaN, 2 ** 53, null]) expect(accepts(SafeInteger.decode, u)).to.equal(false)
      for (const u of [0, -1, 0.5]) expect(accepts(PositiveInteger.decode, u)).to.equal(false)
    })
  })
})
