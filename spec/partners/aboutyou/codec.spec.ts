import { expect } from 'chai'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { readFileSync } from 'node:fs'
import { decodeWith } from '../../../lib/core/decode.js'
import type { FieldProblem } from '../../../lib/core/problem.js'
import {
  ABOUT_YOU_EVENT_NAMES,
  aboutYouEventCodec,
  AboutYouOrderItemsCancelled,
  AboutYouOrderItemsEvent,
  AboutYouOrderItemsReturned,
  AboutYouOrderItemsShipped,
  type AboutYouEventName,
  type AboutYouOrderItemsShippedEvent
} from '../../../lib/partners/aboutyou/codec.js'
import { aboutYouOrderItemFixture, aboutYouOrderItemsFixture } from '../../../lib/testing/index.js'

const vendorText = readFileSync(new URL('../../fixtures/aboutyou/order-items-shipped.json', import.meta.url), 'utf8')
const vendorExample: unknown = JSON.parse(vendorText)

type Body = Record<string, unknown>

const problemsOf = (codec: t.Decoder<unknown, unknown>, u: unknown): ReadonlyArray<FieldProblem> => {
  const result = decodeWith(codec)(u)
  return E.isLeft(result) ? (result.left.errors ?? []) : []
}
const pathsOf = (u: unknown): ReadonlyArray<string> => problemsOf(AboutYouOrderItemsShipped, u).map((p) => p.path)

const decodeOk = (u: unknown): AboutYouOrderItemsShippedEvent => {
  const result = decodeWith(AboutYouOrderItemsShipped)(u)
  if (E.isLeft(result)) throw new Error(`expected the body to decode: ${JSON.stringify(result.left.errors)}`)
  return result.right
}

const without = (o: Body, key: string): Body => Object.fromEntries(Object.entries(o).filter(([k]) => k !== key))
const body = (patch: Body = {}): Body => ({ ...aboutYouOrderItemsFixture('order_items.shipped'), ...patch })
const withMessage = (patch: Body): Body => body({ message: { ...aboutYouOrderItemsFixture('order_items.shipped').message, ...patch } })
const withItem = (patch: Body): Body => withMessage({ items: [{ ...aboutYouOrderItemFixture(), ...patch }] })
const withoutItemField = (key: string): Body => withMessage({ items: [without({ ...aboutYouOrderItemFixture() }, key)] })
const withoutMessageField = (key: string): Body => body({ message: without({ ...aboutYouOrderItemsFixture('order_items.shipped').message }, key) })

const label = (value: unknown): string => {
  if (typeof value === 'string' && value.length > 20) return `a string of ${[...value].length} characters (${[...value][0]}...)`
  return typeof value === 'number' && !Number.isFinite(value) ? '1e400 (Infinity once parsed)' : JSON.stringify(value)
}

/** Asserts each accepted value decodes (via `build`) and each rejected one is reported at `path`, and only there. */
const checkValues = (build: (value: unknown) => Body, path: string, accepted: ReadonlyArray<unknown>, rejected: ReadonlyArray<unknown>) => {
  for (const value of accepted) it(`accepts ${label(value)}`, () => expect(pathsOf(build(value))).to.deep.equal([]))
  for (const value of rejected) it(`rejects ${label(value)}`, () => expect(pathsOf(build(value))).to.deep.equal([path]))
}

const TWO_POW_53 = 2 ** 53
// JSON.parse turns 1e400 into Infinity; the codecs must refuse it rather than keep a number JSON cannot encode.
const HUGE: unknown = JSON.parse('1e400')

describe('partners/aboutyou/codec', () => {
  it('decodes the vendor example into a typed event', () => {
    expect(decodeOk(vendorExample)).to.deep.equal({
      id: 1,
      event: 'order_items.shipped',
      timestamp: new Date('2025-08-23T05:56:52.435Z'),
      message: {
        items: [
          {
            return_tracking_key: null,
            shipment_tracking_key: '00340434161094042557',
            sku: 'AY-TSHIRT-BLK-M',
            status: 'shipped',
            id: 1,
            vat: 19,
            price_without_tax: 2513,
            price_with_tax: 2990,
            custom_data: {}
          }
        ],
        carrier_key: 'DHL',
        return_tracking_key: null,
        tracking_key: '00340434161094042557'
      },
      subscription_id: 1
    })
  })

  it('builds the vendor example with the test kit', () => {
    expect(aboutYouOrderItemsFixture('order_items.shipped')).to.deep.equal(vendorExample)
  })

  describe('event', () => {
    const cases = [
      ['order_items.shipped', AboutYouOrderItemsShipped],
      ['order_items.cancelled', AboutYouOrderItemsCancelled],
      ['order_items.returned', AboutYouOrderItemsReturned]
    ] as const
    for (const [name, codec] of cases) {
      it(`${codec.name} accepts "${name}" and no other event`, () => {
        expect(problemsOf(codec, aboutYouOrderItemsFixture(name))).to.deep.equal([])
        for (const other of ABOUT_YOU_EVENT_NAMES.filter((n) => n !== name)) {
          expect(problemsOf(codec, aboutYouOrderItemsFixture(other)).map((p) => p.path)).to.deep.equal(['/event'])
        }
      })
    }

    it('is required and compared exactly', () => {
      expect(pathsOf(without(body(), 'event'))).to.deep.equal(['/event'])
      for (const event of ['ORDER_ITEMS.SHIPPED', 'order_items.shipped ', 'shipped', '', null, 1]) {
        expect(pathsOf(body({ event })), String(event)).to.deep.equal(['/event'])
      }
    })

    it('the union accepts all three events and decodes each by its own codec', () => {
      for (const name of ABOUT_YOU_EVENT_NAMES) {
        const result = AboutYouOrderItemsEvent.decode(aboutYouOrderItemsFixture(name))
        expect(E.isRight(result) && result.right.event).to.equal(name)
      }
      expect(E.isLeft(AboutYouOrderItemsEvent.decode(body({ event: 'order_items.lost' })))).to.equal(true)
    })
  })

  describe('id (integer, minimum 1, required)', () => {
    it('is required', () => expect(pathsOf(without(body(), 'id'))).to.deep.equal(['/id']))
    checkValues((id) => body({ id }), '/id', [1, 2, Number.MAX_SAFE_INTEGER], [0, -1, 1.5, '1', null, HUGE, TWO_POW_53])
  })

  describe('message (required)', () => {
    it('is required', () => expect(pathsOf(without(body(), 'message'))).to.deep.equal(['/message']))
    it('must be an object', () => {
      for (const message of [null, [], 'x']) expect(pathsOf(body({ message })), JSON.stringify(message)).to.deep.equal(['/message'])
    })
  })

  describe('timestamp (optional date-time)', () => {
    it('may be absent', () => expect(decodeOk(without(body(), 'timestamp'))).not.to.have.property('timestamp'))
    it('decodes to a Date', () => {
      expect(decodeOk(body({ timestamp: '2025-08-23T07:56:52+02:00' })).timestamp).to.deep.equal(new Date('2025-08-23T05:56:52Z'))
    })
    checkValues(
      (timestamp) => body({ timestamp }),
      '/timestamp',
      // RFC 3339 §5.6, as `format: date-time` requires: lower-case t/z and leap seconds are valid.
      ['2025-08-23T05:56:52Z', '2025-08-23T05:56:52.123456Z', '2025-08-23t05:56:52z', '2016-12-31T23:59:60Z', '2025-08-23T05:56:52-00:00'],
      // ... and a colon-less offset (Musement's ISO 8601 form) is not RFC 3339.
      ['2025-08-23', '2025-08-23 05:56:52Z', '2025-02-30T00:00:00Z', '2025-08-23T24:00:00Z', '2025-08-23T05:56:52+0000', '2025-08-23T05:56:60Z', 'yesterday', '', null, 1755928612435]
    )
  })

  describe('subscription_id (optional, integer >= 1 or null)', () => {
    it('may be absent', () => expect(decodeOk(without(body(), 'subscription_id'))).not.to.have.property('subscription_id'))
    it('may be null', () => expect(decodeOk(body({ subscription_id: null })).subscription_id).to.equal(null))
    checkValues(
      (subscription_id) => body({ subscription_id }),
      '/subscription_id',
      [1, 4242, Number.MAX_SAFE_INTEGER],
      [0, -3, 1.5, '1', HUGE, TWO_POW_53]
    )
  })

  describe('message.items (required array)', () => {
    it('is required', () => expect(pathsOf(withoutMessageField('items'))).to.deep.equal(['/message/items']))
    it('may be empty (no minItems)', () => expect(decodeOk(withMessage({ items: [] })).message.items).to.deep.equal([]))
    it('must be an array', () => {
      for (const items of [null, {}, aboutYouOrderItemFixture()]) {
        expect(pathsOf(withMessage({ items })), JSON.stringify(items)).to.deep.equal(['/message/items'])
      }
    })
    it('locates a problem in the second item', () => {
      const items = [aboutYouOrderItemFixture(), { ...aboutYouOrderItemFixture(), sku: 7 }]
      expect(problemsOf(AboutYouOrderItemsShipped, withMessage({ items }))).to.deep.equal([
        { path: '/message/items/1/sku', message: 'expected string, got 7' }
      ])
    })
  })

  describe('message.carrier_key (required string)', () => {
    it('is required', () => expect(pathsOf(withoutMessageField('carrier_key'))).to.deep.equal(['/message/carrier_key']))
    checkValues((carrier_key) => withMessage({ carrier_key }), '/message/carrier_key', ['DHL', ''], [null, 1, ['DHL']])
  })

  for (const field of ['tracking_key', 'return_tracking_key']) {
    describe(`message.${field} (optional, string of at most 255 characters, or null)`, () => {
      it('may be absent', () => expect(decodeOk(withoutMessageField(field)).message).not.to.have.property(field))
      // maxLength counts code points (JSON Schema, RFC 8259): 255 emoji are 510 UTF-16 units and still fit.
      checkValues(
        (value) => withMessage({ [field]: value }),
        `/message/${field}`,
        [null, '', 'x'.repeat(255), '📦'.repeat(255)],
        ['x'.repeat(256), '📦'.repeat(256), 42, {}]
      )
    })
  }

  describe('items[] required fields', () => {
    for (const field of ['sku', 'status', 'price_without_tax', 'price_with_tax', 'shipment_tracking_key', 'return_tracking_key']) {
      it(`requires ${field}`, () => expect(pathsOf(withoutItemField(field))).to.deep.equal([`/message/items/0/${field}`]))
    }
  })

  describe('items[].sku (string)', () => {
    checkValues((sku) => withItem({ sku }), '/message/items/0/sku', ['AY-1', ''], [null, 12345])
  })

  describe('items[].status (open | shipped | cancelled | returned)', () => {
    checkValues(
      (status) => withItem({ status }),
      '/message/items/0/status',
      ['open', 'shipped', 'cancelled', 'returned'],
      ['SHIPPED', 'delivered', 'returned ', '', null]
    )
  })

  for (const field of ['price_without_tax', 'price_with_tax']) {
    describe(`items[].${field} (integer, smallest currency unit)`, () => {
      checkValues(
        (value) => withItem({ [field]: value }),
        `/message/items/0/${field}`,
        [0, 2990, -500, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER],
        [1.5, '100', null, HUGE, TWO_POW_53, -TWO_POW_53]
      )
    })
  }

  for (const field of ['shipment_tracking_key', 'return_tracking_key']) {
    describe(`items[].${field} (present, string or null)`, () => {
      it('accepts null when present', () => {
        const [item] = decodeOk(withItem({ [field]: null })).message.items
        expect(item).to.have.property(field, null)
      })
      // No maxLength on the item's keys, unlike the shipment's.
      checkValues((value) => withItem({ [field]: value }), `/message/items/0/${field}`, ['RT-1', 'x'.repeat(300)], [7, false, {}])
    })
  }

  describe('items[].id (optional, integer or null)', () => {
    it('may be absent', () => expect(decodeOk(withoutItemField('id')).message.items[0]).not.to.have.property('id'))
    checkValues((id) => withItem({ id }), '/message/items/0/id', [null, 0, 1, -1, Number.MAX_SAFE_INTEGER], [1.5, '1', HUGE, TWO_POW_53])
  })

  describe('items[].vat (optional number, default 19)', () => {
    it('is 19 when absent', () => expect(decodeOk(withoutItemField('vat')).message.items[0]?.vat).to.equal(19))
    it('keeps a given rate, fractional or zero', () => {
      for (const vat of [7, 7.7, 0]) expect(decodeOk(withItem({ vat })).message.items[0]?.vat).to.equal(vat)
    })
    // A wrong value is an error; the default only stands in for an absent field.
    checkValues((vat) => withItem({ vat }), '/message/items/0/vat', [], ['19', null, HUGE, {}])
  })

  describe('items[].custom_data (optional, object or null)', () => {
    it('may be absent', () => expect(decodeOk(withoutItemField('custom_data')).message.items[0]).not.to.have.property('custom_data'))
    it('keeps the object as sent, unknown keys included', () => {
      const custom_data = { order_ref: 'A-1', nested: { list: [1, 2] } }
      expect(decodeOk(withItem({ custom_data })).message.items[0]?.custom_data).to.deep.equal(custom_data)
    })
    checkValues((custom_data) => withItem({ custom_data }), '/message/items/0/custom_data', [null, {}], [[], ['a'], 'x', 1])
  })

  describe('unknown fields', () => {
    it('are tolerated and dropped at every level', () => {
      const decoded = decodeOk(
        body({
          extra: 1,
          message: {
            ...aboutYouOrderItemsFixture('order_items.shipped').message,
            extra: 2,
            items: [{ ...aboutYouOrderItemFixture(), extra: 3 }]
          }
        })
      )
      expect(decoded).not.to.have.property('extra')
      expect(decoded.message).not.to.have.property('extra')
      expect(decoded.message.items[0]).not.to.have.property('extra')
      expect(decoded).to.deep.equal(decodeOk(vendorExample))
    })

    it('do not reach the prototype: a __proto__ key is refused (io-ts alone would make it the prototype of a copy)', () => {
      const body: unknown = JSON.parse(vendorText.replace('"id": 1,', '"__proto__": { "polluted": true }, "id": 1,'))
      expect(problemsOf(AboutYouOrderItemsShipped, body)).to.deep.equal([{ path: '/__proto__', message: 'the key __proto__ is not accepted' }])
      expect('polluted' in {}).to.equal(false)
    })
  })

  describe('encode', () => {
    const variants: ReadonlyArray<Body> = [
      body(),
      without(without(body(), 'timestamp'), 'subscription_id'),
      body({ subscription_id: null }),
      withMessage({ tracking_key: null, return_tracking_key: 'RT-9' }),
      withoutMessageField('tracking_key'),
      withItem({ id: null, custom_data: null, shipment_tracking_key: null, status: 'open', vat: 7.7 }),
      withoutItemField('vat'),
      withMessage({ items: [] })
    ]
    variants.forEach((variant, i) => {
      it(`round-trips variant ${i}: decode(encode(x)) equals x`, () => {
        const decoded = decodeOk(variant)
        expect(decodeOk(AboutYouOrderItemsShipped.encode(decoded))).to.deep.equal(decoded)
      })
    })

    it('gives back the vendor example on the wire', () => {
      expect(AboutYouOrderItemsShipped.encode(decodeOk(vendorExample))).to.deep.equal(vendorExample)
    })

    it('round-trips every event through the union', () => {
      for (const name of ABOUT_YOU_EVENT_NAMES) {
        const decoded = AboutYouOrderItemsEvent.decode(aboutYouOrderItemsFixture(name))
        if (E.isLeft(decoded)) throw new Error(`${name} did not decode`)
        expect(AboutYouOrderItemsEvent.decode(AboutYouOrderItemsEvent.encode(decoded.right))).to.deep.equal(decoded)
      }
    })
  })

  describe('aboutYouEventCodec(events)', () => {
    const ShippedOrCancelled = aboutYouEventCodec(['order_items.shipped', 'order_items.cancelled'])
    const problems = (u: unknown) => problemsOf(ShippedOrCancelled, u)

    it('accepts the events it was given', () => {
      for (const name of ['order_items.shipped', 'order_items.cancelled'] as const) {
        const result = ShippedOrCancelled.decode(aboutYouOrderItemsFixture(name))
        expect(E.isRight(result) && result.right.event).to.equal(name)
      }
    })

    it('reports another event as one problem at /event that names the expected events', () => {
      expect(problems({ ...aboutYouOrderItemsFixture('order_items.returned'), id: 'also wrong' })).to.deep.equal([
        { path: '/event', message: 'expected "order_items.shipped" or "order_items.cancelled", got "order_items.returned"' }
      ])
    })

    it('reports a missing, unknown or non-string event the same way', () => {
      const shipped: Body = { ...aboutYouOrderItemsFixture('order_items.shipped') }
      expect(problems(without(shipped, 'event'))).to.deep.equal([
        { path: '/event', message: 'missing; expected "order_items.shipped" or "order_items.cancelled"' }
      ])
      for (const event of ['order_items.lost', 42, null, ['order_items.shipped']]) {
        const found = problems({ ...shipped, event })
        expect(found.map((p) => p.path), JSON.stringify(event)).to.deep.equal(['/event'])
        expect(found[0]?.message).to.contain('"order_items.shipped" or "order_items.cancelled"')
      }
    })

    it('then reports the chosen event codec problems at their real paths', () => {
      expect(problems({ ...aboutYouOrderItemsFixture('order_items.cancelled'), id: 0 })).to.deep.equal([
        { path: '/id', message: 'expected PositiveInteger, got 0' }
      ])
      expect(problems(withItem({ price_with_tax: 1.5 })).map((p) => p.path)).to.deep.equal(['/message/items/0/price_with_tax'])
    })

    it('refuses a body that is not an object', () => {
      for (const u of [[], 'x', null, 1]) expect(problems(u).map((p) => p.path), JSON.stringify(u)).to.deep.equal([''])
    })

    it('is a guard for exactly its events and encodes like the event codecs', () => {
      const returned = AboutYouOrderItemsReturned.decode(aboutYouOrderItemsFixture('order_items.returned'))
      const shipped = ShippedOrCancelled.decode(aboutYouOrderItemsFixture('order_items.shipped'))
      if (E.isLeft(returned) || E.isLeft(shipped)) throw new Error('fixtures must decode')
      expect(ShippedOrCancelled.is(returned.right)).to.equal(false)
      expect(ShippedOrCancelled.is(shipped.right)).to.equal(true)
      expect(ShippedOrCancelled.encode(shipped.right)).to.deep.equal(aboutYouOrderItemsFixture('order_items.shipped'))
    })

    it('with a single event, names only that one', () => {
      const only: ReadonlyArray<AboutYouEventName> = ['order_items.returned']
      expect(problemsOf(aboutYouEventCodec(only), aboutYouOrderItemsFixture('order_items.shipped'))).to.deep.equal([
        { path: '/event', message: 'expected "order_items.returned", got "order_items.shipped"' }
      ])
    })
  })
})
