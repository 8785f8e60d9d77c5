import type { AboutYouEventName, AboutYouEventWire, AboutYouOrderItemWire } from '../partners/aboutyou/codec.js'
import type { MusementOrderItemWire } from '../partners/musement/codec.js'

export {
  SIMULATED_ATTEMPT_HEADER,
  simulatePartner,
  type DropConnections,
  type PartnerDelivery,
  type SimulatedAnswer,
  type SimulatePartnerOptions,
  type SimulationReport
} from './simulator.js'

/**
 * The `Authorization` header value for HTTP Basic credentials, as Musement sends it.
 *
 * @example
 * await request(app).post('/webhooks/musement').set('Authorization', basicAuthHeader('musement', 'secret'))
 */
export const basicAuthHeader = (username: string, password: string): string =>
  `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`

/** The documented example of Musement's "Update order item" body (API 3.5.0), as sent on the wire. */
export const musementOrderItemExample: Readonly<MusementOrderItemWire> = Object.freeze({
  order_id: '13459345',
  order_uuid: '8e9e5c6e-ea7d-4934-8753-f00954f30d00',
  order_created: '2018-12-10T13:12:40+0000',
  order_updated: '2018-12-10T13:12:40+0000',
  order_version: '16',
  order_item_uuid: '11045e18-e3ca-42e1-acb4-0d5be75036fd',
  order_item_created: '2018-12-10T13:12:40+0000',
  order_item_updated: '2018-12-10T13:12:40+0000',
  order_item_version: '22',
  order_item_status: 'OK'
})

/**
 * A valid Musement wire body: the documented example with your overrides.
 *
 * @example
 * musementOrderItemFixture({ order_item_status: 'KO', order_item_version: '23' })
 */
export const musementOrderItemFixture = (overrides: Partial<MusementOrderItemWire> = {}): MusementOrderItemWire => ({
  ...musementOrderItemExample,
  ...overrides
})

/**
 * The `X-API-Key` header About You sends, for `request(app).post(...).set(...)` or `postDelivery`.
 *
 * @example
 * await request(app).post('/webhooks/about-you').set(apiKeyHeader('secret')).send(aboutYouOrderItemsFixture('order_items.shipped'))
 */
export const apiKeyHeader = (key: string): { readonly 'X-API-Key': string } => ({ 'X-API-Key': key })

/**
 * A valid About You order item on the wire: the item of the vendor's `order_items.shipped` example with your overrides.
 *
 * @example
 * aboutYouOrderItemFixture({ status: 'returned', return_tracking_key: 'RT-1' })
 */
export const aboutYouOrderItemFixture = (overrides: Partial<AboutYouOrderItemWire> = {}): AboutYouOrderItemWire => ({
  return_tracking_key: null,
  shipment_tracking_key: '00340434161094042557',
  sku: 'AY-TSHIRT-BLK-M',
  status: 'shipped',
  id: 1,
  vat: 19,
  price_without_tax: 2513,
  price_with_tax: 2990,
  custom_data: {},
  ...overrides
})

/**
 * A valid About You webhook body for `event`: the vendor's example (`aboutyou-order-items-shipped-example.json`) with
 * that event name and your overrides. Every call builds fresh objects, so a test may change them freely.
 *
 * @example
 * aboutYouOrderItemsFixture('order_items.returned', { id: 42, subscription_id: null })
 */
export const aboutYouOrderItemsFixture = <N extends AboutYouEventName>(
  event: N,
  overrides: Partial<AboutYouEventWire<N>> = {}
): AboutYouEventWire<N> => ({
  id: 1,
  event,
  timestamp: '2025-08-23T05:56:52.435Z',
  message: {
    items: [aboutYouOrderItemFixture()],
    carrier_key: 'DHL',
    return_tracking_key: null,
    tracking_key: '00340434161094042557'
  },
  subscription_id: 1,
  ...overrides
})
