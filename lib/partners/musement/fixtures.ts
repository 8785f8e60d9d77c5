import type { MusementOrderItemWire } from './codec.js'

// Test fixtures, exported by the test kit (`express-partner-webhooks/testing`).

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
