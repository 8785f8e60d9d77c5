import * as t from 'io-ts'
import { DateTimeFromString, DigitString, NumberFromDigitString, Uuid } from '../../core/codecs.js'

/** The six order-item statuses Musement API 3.5.0 documents, compared case-sensitively. */
export const MusementOrderItemStatus = t.keyof(
  { CANCELLATION_ERROR: null, KO: null, OK: null, PENDING: null, REFUND_STARTED: null, REFUNDED: null },
  'MusementOrderItemStatus (CANCELLATION_ERROR | KO | OK | PENDING | REFUND_STARTED | REFUNDED)'
)
export type MusementOrderItemStatus = t.TypeOf<typeof MusementOrderItemStatus>

/**
 * Musement "Update order item" webhook body (API 3.5.0). All ten fields are required JSON strings on the wire;
 * versions decode to numbers, date-times to `Date`. Unknown extra fields are dropped, never a reason to refuse.
 *
 * @example
 * const result = MusementOrderItem.decode(JSON.parse(body))
 */
export const MusementOrderItem = t.exact(
  t.type({
    order_id: DigitString,
    order_uuid: Uuid,
    order_created: DateTimeFromString,
    order_updated: DateTimeFromString,
    order_version: NumberFromDigitString,
    order_item_uuid: Uuid,
    order_item_created: DateTimeFromString,
    order_item_updated: DateTimeFromString,
    order_item_version: NumberFromDigitString,
    order_item_status: MusementOrderItemStatus
  }),
  'MusementOrderItem'
)

/** A decoded Musement order-item event. */
export type MusementOrderItemEvent = t.TypeOf<typeof MusementOrderItem>

/** The wire form of a Musement order-item event (every field a string). */
export type MusementOrderItemWire = t.OutputOf<typeof MusementOrderItem>
