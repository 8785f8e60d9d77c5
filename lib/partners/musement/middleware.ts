import { basicAuth, type AuthOptions, type BasicCredentials } from '../../core/auth.js'
import type { DeliveryKey } from '../../core/delivery.js'
import { definePartner, type PartnerOptions } from '../../define-partner.js'
import { MusementOrderItem, type MusementOrderItemEvent } from './codec.js'

/** How Musement proves who it is: HTTP Basic credentials you chose, or an explicit, loudly named opt-out. */
export type MusementAuthOptions = AuthOptions<'credentials', BasicCredentials>

/** Options of {@link musementOrderItem}. */
export type MusementOrderItemOptions = PartnerOptions<MusementOrderItemEvent, 'credentials', BasicCredentials>

/**
 * One delivery per order-item version. Versions of one item share a scope, so they are handled one at a time and
 * a late, older version is recognised as stale. UUIDs are accepted in either case, so they are lower-cased here.
 */
export const musementDeliveryKey = (event: MusementOrderItemEvent): DeliveryKey => {
  const scope = `musement:${event.order_item_uuid.toLowerCase()}`
  return { key: `${scope}:${event.order_item_version}`, scope, version: event.order_item_version }
}

/**
 * Express middleware for Musement's "Update order item" webhook: HTTP Basic auth, strict decoding, and either
 * your `handler` (answered 200 once it resolves) or `next()` with the typed event in `req.body`.
 *
 * @example
 * app.post('/webhooks/musement', musementOrderItem({
 *   credentials: { username: 'musement', password: process.env.MUSEMENT_PASSWORD ?? '' },
 *   handler: async (event) => { await orders.update(event.order_item_uuid, event.order_item_status) }
 * }))
 */
export const musementOrderItem = definePartner({
  name: 'musement',
  factory: 'musementOrderItem',
  codec: MusementOrderItem,
  auth: basicAuth(),
  deliveryKey: musementDeliveryKey
})
