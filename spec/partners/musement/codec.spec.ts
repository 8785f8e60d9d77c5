import { expect } from 'chai'
import * as E from 'fp-ts/lib/Either.js'
import { readFileSync } from 'node:fs'
import { MusementOrderItem, type MusementOrderItemEvent } from '../../../lib/partners/musement/codec.js'
import { musementOrderItemFixture } from '../../../lib/testing/index.js'

const vendorExample: unknown = JSON.parse(readFileSync(new URL('../../fixtures/musement/order-item.json', import.meta.url), 'utf8'))

const decodeOk = (u: unknown): MusementOrderItemEvent => {
  const result = MusementOrderItem.decode(u)
  if (E.isLeft(result)) throw new Error(`expected the body to decode: ${JSON.stringify(result.left.map((e) => e.context.map((c) => c.key)))}`)
  return result.right
}
const rejects = (u: unknown): boolean => E.isLeft(MusementOrderItem.decode(u))

describe('partners/musement/codec', () => {
  it('decodes the vendor example into a typed event', () => {
    expect(decodeOk(vendorExample)).to.deep.equal({
      order_id: '13459345',
      order_uuid: '8e9e5c6e-ea7d-4934-8753-f00954f30d00',
      order_created: new Date('2018-12-10T13:12:40Z'),
      order_updated: new Date('2018-12-10T13:12:40Z'),
      order_version: 16,
      order_item_uuid: '11045e18-e3ca-42e1-acb4-0d5be75036fd',
      order_item_created: new Date('2018-12-10T13:12:40Z'),
      order_item_updated: new Date('2018-12-10T13:12:40Z'),
      order_item_version: 22,
      order_item_status: 'OK'
    })
  })

  it('drops unknown extra fields instead of refusing them', () => {
    const event = decodeOk({ ...musementOrderItemFixture(), new_field: 'x', __proto__: { polluted: true } })
    expect(Object.keys(event)).to.have.members(Object.keys(musementOrderItemFixture()))
    expect(Object.getPrototypeOf(event)).to.equal(Object.prototype)
  })

  const fields = Object.keys(musementOrderItemFixture())
  for (const field of fields) {
    it(`requires ${field}`, () => {
      const body: Record<string, unknown> = { ...musementOrderItemFixture() }
      delete body[field]
      expect(rejects(body)).to.equal(true)
    })
    it(`requires ${field} to be a JSON string (null and numbers refused)`, () => {
      expect(rejects({ ...musementOrderItemFixture(), [field]: null })).to.equal(true)
      expect(rejects({ ...musementOrderItemFixture(), [field]: 16 })).to.equal(true)
    })
  }

  it('accepts every documented status and nothing else', () => {
    for (const status of ['CANCELLATION_ERROR', 'KO', 'OK', 'PENDING', 'REFUND_STARTED', 'REFUNDED'] as const) {
      expect(decodeOk(musementOrderItemFixture({ order_item_status: status })).order_item_status).to.equal(status)
    }
    for (const status of ['ok', 'Ok', 'REFUND', 'CANCELLED', '', ' OK']) {
      expect(rejects({ ...musementOrderItemFixture(), order_item_status: status }), status).to.equal(true)
    }
  })

  it('decodes versions to numbers and refuses anything but plain digits', () => {
    expect(decodeOk(musementOrderItemFixture({ order_version: '0', order_item_version: '9007199254740991' }))).to.include({
      order_version: 0,
      order_item_version: Number.MAX_SAFE_INTEGER
    })
    for (const v of ['', '-1', '+1', ' 1', '1e2', '0x10', '1.5', '9007199254740992']) {
      expect(rejects({ ...musementOrderItemFixture(), order_item_version: v }), v).to.equal(true)
      expect(rejects({ ...musementOrderItemFixture(), order_version: v }), v).to.equal(true)
    }
  })

  it('keeps order_id a digit string and refuses non-digits', () => {
    expect(decodeOk(musementOrderItemFixture({ order_id: '0042' })).order_id).to.equal('0042')
    for (const v of ['', 'A42', '-42', '4 2']) expect(rejects({ ...musementOrderItemFixture(), order_id: v }), v).to.equal(true)
  })

  it('checks both UUIDs', () => {
    expect(rejects({ ...musementOrderItemFixture(), order_uuid: 'not-a-uuid' })).to.equal(true)
    expect(rejects({ ...musementOrderItemFixture(), order_item_uuid: '11045e18e3ca42e1acb40d5be75036fd' })).to.equal(true)
    expect(decodeOk(musementOrderItemFixture({ order_item_uuid: '11045E18-E3CA-42E1-ACB4-0D5BE75036FD' })).order_item_uuid).to.equal(
      '11045E18-E3CA-42E1-ACB4-0D5BE75036FD'
    )
  })

  it('checks all four date-times', () => {
    for (const field of ['order_created', 'order_updated', 'order_item_created', 'order_item_updated']) {
      expect(rejects({ ...musementOrderItemFixture(), [field]: '2018-02-31T13:12:40+0000' }), field).to.equal(true)
      expect(rejects({ ...musementOrderItemFixture(), [field]: '2018-12-10' }), field).to.equal(true)
      expect(decodeOk({ ...musementOrderItemFixture(), [field]: '2018-12-10T14:12:40.250+01:00' })).to.have.property(field).that.deep.equals(new Date('2018-12-10T13:12:40.250Z'))
    }
  })

  it('refuses bodies that are not objects', () => {
    for (const u of [null, [], 'x', 1, true, [musementOrderItemFixture()]]) expect(rejects(u)).to.equal(true)
  })

  it('encodes an event to a wire body that decodes to an equal event', () => {
    const event = decodeOk(musementOrderItemFixture({ order_created: '2018-12-10T15:12:40.5+02:00', order_version: '007' }))
    const wire = MusementOrderItem.encode(event)
    expect(Object.values(wire).every((v) => typeof v === 'string')).to.equal(true)
    expect(decodeOk(wire)).to.deep.equal(event)
  })
})
