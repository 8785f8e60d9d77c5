import * as t from 'io-ts'
import { DateTimeFromRfc3339, PositiveInteger, SafeInteger } from '../../core/codecs.js'
import { compileDecoder, compileJsonDecoder, NO_MATCH, withFastPath, type FastPath } from '../../core/compile.js'
import { withJsonFastPath } from '../../core/compile/fast-path.js'
import { describeValue } from '../../core/decode.js'

// Sources: the About You Sellers Center OpenAPI 3.1 documents `aboutyou-order-items-{shipped,cancelled,returned}`.
// The three bodies share one envelope and differ only in the `event` constant.
//
// Unknown fields are dropped at every level. An order item and a shipment are an exact around the intersection of a
// required and an optional part: one strip, and a valid item without unknown fields is used as parsed, where an
// intersection of two exact parts copied it three times (bench/RESULTS.md: the cost per item). decode.ts keeps the
// intersection's member index out of the JSON Pointers. The envelope stays an intersection of exact parts: its
// decoded form is a new object anyway (the Date, the decoded message).

/** `OrderItem.StatusChoices`: the four item statuses, compared case-sensitively. */
export const AboutYouOrderItemStatus = t.keyof(
  { open: null, shipped: null, cancelled: null, returned: null },
  'AboutYouOrderItemStatus (open | shipped | cancelled | returned)'
)
export type AboutYouOrderItemStatus = t.TypeOf<typeof AboutYouOrderItemStatus>

// JSON Schema `maxLength` counts characters (code points, RFC 8259), so an emoji is one, not two UTF-16 units.
const MaxLength255 = withFastPath(
  t.refinement(t.string, (s) => [...s].length <= 255, 'string of at most 255 characters'),
  // A string of at most 255 UTF-16 units has at most 255 code points: only longer ones need counting.
  (u) => (typeof u === 'string' && (u.length <= 255 || [...u].length <= 255) ? u : NO_MATCH)
)
const TrackingKey = t.union([MaxLength255, t.null], 'string of at most 255 characters | null')
const NullableString = t.union([t.string, t.null], 'string | null')

// A finite number: `1e400` parses to Infinity, which JSON cannot encode back, so it is refused rather than kept.
const FiniteNumber = t.refinement(t.number, Number.isFinite, 'number')

// `OrderItemSchema.vat` has `default: 19`; the default applies only when the field is absent, never to a bad value.
const VAT_DEFAULT = 19
const Vat = withFastPath(
  new t.Type<number, number, unknown>(
    'number (default 19)',
    FiniteNumber.is,
    (u, c) => (u === undefined ? t.success(VAT_DEFAULT) : FiniteNumber.validate(u, c)),
    t.identity
  ),
  (u) => (u === undefined ? VAT_DEFAULT : typeof u === 'number' && Number.isFinite(u) ? u : NO_MATCH)
)

/** `OrderItemSchema`: one order item; prices are integers in the smallest currency unit (cents for EUR). */
export const AboutYouOrderItem = t.exact(
  t.intersection([
    t.type({
      sku: t.string,
      status: AboutYouOrderItemStatus,
      price_without_tax: SafeInteger,
      price_with_tax: SafeInteger,
      // Required by the schema but nullable: present-and-null is fine, absent is not.
      shipment_tracking_key: NullableString,
      return_tracking_key: NullableString,
      vat: Vat
    }),
    t.partial({
      id: t.union([SafeInteger, t.null], 'SafeInteger | null'),
      // `type: object` in JSON Schema excludes arrays; UnknownRecord does too.
      custom_data: t.union([t.UnknownRecord, t.null], 'object | null')
    })
  ]),
  'AboutYouOrderItem'
)
export type AboutYouOrderItem = t.TypeOf<typeof AboutYouOrderItem>

/** `GetShipmentSchema`: the shipment the event is about. */
export const AboutYouShipment = t.exact(
  t.intersection([
    t.type({ items: t.array(AboutYouOrderItem, 'Array<AboutYouOrderItem>'), carrier_key: t.string }),
    t.partial({ tracking_key: TrackingKey, return_tracking_key: TrackingKey })
  ]),
  'AboutYouShipment'
)
export type AboutYouShipment = t.TypeOf<typeof AboutYouShipment>

/** The three event names, in the order the vendor documents them. */
export const ABOUT_YOU_EVENT_NAMES = ['order_items.shipped', 'order_items.cancelled', 'order_items.returned'] as const
/** One of the three event names: `order_items.shipped`, `order_items.cancelled`, `order_items.returned`. */
export type AboutYouEventName = (typeof ABOUT_YOU_EVENT_NAMES)[number]

const envelope = <N extends AboutYouEventName>(event: N, name: string) =>
  t.intersection(
    [
      t.exact(t.type({ id: PositiveInteger, event: t.literal(event), message: AboutYouShipment })),
      t.exact(t.partial({ timestamp: DateTimeFromRfc3339, subscription_id: t.union([PositiveInteger, t.null], 'PositiveInteger | null') }))
    ],
    name
  )
// The codec type of one event; only its TypeOf/OutputOf are public (as AboutYouEvent and AboutYouEventWire).
type EnvelopeC<N extends AboutYouEventName> = ReturnType<typeof envelope<N>>

/** `ShipmentItemsShippedWebhookSchema`, the body of `order_items.shipped`. */
export const AboutYouOrderItemsShipped = envelope('order_items.shipped', 'AboutYouOrderItemsShipped')
/** `ShipmentItemsCancelledWebhookSchema`, the body of `order_items.cancelled`. */
export const AboutYouOrderItemsCancelled = envelope('order_items.cancelled', 'AboutYouOrderItemsCancelled')
/** `ShipmentItemsReturnedWebhookSchema`, the body of `order_items.returned`. */
export const AboutYouOrderItemsReturned = envelope('order_items.returned', 'AboutYouOrderItemsReturned')

/** Any of the three events, discriminated by `event`. */
export const AboutYouOrderItemsEvent = t.union(
  [AboutYouOrderItemsShipped, AboutYouOrderItemsCancelled, AboutYouOrderItemsReturned],
  'AboutYouOrderItemsEvent'
)

/** A decoded About You event whose name is one of `N` (all three by default). */
export type AboutYouEvent<N extends AboutYouEventName = AboutYouEventName> = t.TypeOf<EnvelopeC<N>>
/** The wire form (what About You sends) of an event whose name is one of `N`. */
export type AboutYouEventWire<N extends AboutYouEventName = AboutYouEventName> = t.OutputOf<EnvelopeC<N>>

/** A decoded `order_items.shipped` event. */
export type AboutYouOrderItemsShippedEvent = t.TypeOf<typeof AboutYouOrderItemsShipped>
/** A decoded `order_items.cancelled` event. */
export type AboutYouOrderItemsCancelledEvent = t.TypeOf<typeof AboutYouOrderItemsCancelled>
/** A decoded `order_items.returned` event. */
export type AboutYouOrderItemsReturnedEvent = t.TypeOf<typeof AboutYouOrderItemsReturned>
/** A decoded event of any of the three names. */
export type AboutYouOrderItemsEvent = t.TypeOf<typeof AboutYouOrderItemsEvent>
/** One order item as About You sends it (the input of {@link AboutYouOrderItem}). */
export type AboutYouOrderItemWire = t.OutputOf<typeof AboutYouOrderItem>

// Indexing this mapped type with a generic name `N` gives `EnvelopeC<N>`, so the delegation below needs no cast.
const EVENT_CODECS: { readonly [K in AboutYouEventName]: EnvelopeC<K> } = {
  'order_items.shipped': AboutYouOrderItemsShipped,
  'order_items.cancelled': AboutYouOrderItemsCancelled,
  'order_items.returned': AboutYouOrderItemsReturned
}

// Compiled once, for every aboutYouEventCodec's fast path.
const COMPILED: { readonly [K in AboutYouEventName]: FastPath<t.TypeOf<EnvelopeC<K>>> } = {
  'order_items.shipped': compileDecoder(AboutYouOrderItemsShipped),
  'order_items.cancelled': compileDecoder(AboutYouOrderItemsCancelled),
  'order_items.returned': compileDecoder(AboutYouOrderItemsReturned)
}

// The same for parsed JSON bodies (decodeWith): no `__proto__` key anywhere, no `-0` kept.
const COMPILED_JSON: { readonly [K in AboutYouEventName]: FastPath<t.TypeOf<EnvelopeC<K>>> } = {
  'order_items.shipped': compileJsonDecoder(AboutYouOrderItemsShipped),
  'order_items.cancelled': compileJsonDecoder(AboutYouOrderItemsCancelled),
  'order_items.returned': compileJsonDecoder(AboutYouOrderItemsReturned)
}

// The event's codec takes over this location, so 400 problems name it here and the pointer skips its member indices.
const takeOver = (c: t.Context, codec: t.Decoder<unknown, unknown>, u: unknown): t.Context =>
  t.appendContext(c.slice(0, -1), c[c.length - 1]?.key ?? '', codec, u)

/**
 * A codec for the events `events` only. It reads `event` first: a missing, unknown or unexpected name is one problem
 * at `/event` that lists the expected names, instead of one complaint per member of a union. A known name is then
 * decoded by that event's codec.
 *
 * @example
 * const ShippedOrCancelled = aboutYouEventCodec(['order_items.shipped', 'order_items.cancelled'])
 */
export const aboutYouEventCodec = <N extends AboutYouEventName>(
  events: ReadonlyArray<N>
): t.Type<AboutYouEvent<N>, AboutYouEventWire<N>, unknown> => {
  const names: ReadonlyArray<string> = events
  const isExpected = (u: unknown): u is N => typeof u === 'string' && names.includes(u)
  const expected = names.map((n) => JSON.stringify(n)).join(' or ')
  const EventName = t.keyof(Object.fromEntries(names.map((n) => [n, null])), expected)
  const byEvent = new t.Type<AboutYouEvent<N>, AboutYouEventWire<N>, unknown>(
    `AboutYouOrderItems (${names.join(' | ')})`,
    (u): u is AboutYouEvent<N> => AboutYouOrderItemsEvent.is(u) && isExpected(u.event),
    (u, c) => {
      if (!t.UnknownRecord.is(u)) return t.failure(u, c)
      const event = u['event']
      if (!isExpected(event)) {
        const message = event === undefined ? `missing; expected ${expected}` : `expected ${expected}, got ${describeValue(event)}`
        return t.failure(event, t.appendContext(c, 'event', EventName, event), message)
      }
      const codec = EVENT_CODECS[event]
      return codec.validate(u, takeOver(c, codec, u))
    },
    (a) => EVENT_CODECS[a.event].encode(a)
  )
  // The same dispatch on `event`, then the compiled envelope of that event; for decodeWith, its JSON-mode form, so
  // the body is checked for `__proto__` and `-0` as the envelope decodes it rather than walked first.
  const dispatch =
    (compiled: typeof COMPILED): FastPath<AboutYouEvent<N>> =>
    (u) => {
      if (!t.UnknownRecord.is(u)) return NO_MATCH
      const event = u['event']
      return isExpected(event) ? compiled[event](u) : NO_MATCH
    }
  return withJsonFastPath(withFastPath(byEvent, dispatch(COMPILED)), dispatch(COMPILED_JSON))
}
