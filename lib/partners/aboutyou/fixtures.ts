import type { AboutYouEventName, AboutYouEventWire, AboutYouOrderItemWire } from './codec.js'

// Test fixtures, exported by the test kit (`express-partner-webhooks/testing`).

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
