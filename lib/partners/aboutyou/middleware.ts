import type { Authenticator } from '../../core/auth.js'
import type { DeliveryKey } from '../../core/delivery.js'
import { assertKnownKeys, assertOptionsObject, COMMON_OPTION_KEYS, optionError, resolveCommonOptions } from '../../core/options.js'
import { createWebhookMiddleware } from '../../core/pipeline.js'
import type { PartnerSpec, WebhookHandler, WebhookMiddleware, WebhookOptions } from '../../core/types.js'
import { aboutYouEventCodec, type AboutYouEvent, type AboutYouEventName } from './codec.js'
import { assertEventNames, AUTH_OPTION_KEYS, resolveAuth, resolveHandlerNames, type AboutYouAuthOptions } from './options.js'

export type { AboutYouAuthOptions } from './options.js'

/** Options of {@link aboutYouShipment}; `handler` receives only the events `N` the URL was set up for. */
export type AboutYouShipmentOptions<N extends AboutYouEventName> = WebhookOptions<AboutYouEvent<N>> & AboutYouAuthOptions

/**
 * Options of {@link aboutYouWebhooks}: the handlers are its first argument, one per event. For hand-off, use
 * {@link aboutYouShipment} with a list of events and `handOff`: the handlers then belong to the worker.
 */
export type AboutYouWebhooksOptions = Omit<WebhookOptions<AboutYouEvent>, 'handler' | 'handOff'> & AboutYouAuthOptions

/** One handler per event name, each typed with its own event. */
export type AboutYouHandlers<N extends AboutYouEventName> = { readonly [K in N]: WebhookHandler<AboutYouEvent<K>> }

// About You's hourly retries re-send the same message `id`. The documents do not say whether ids are unique across
// events and subscriptions, so both are part of the key: a false duplicate would drop an event unhandled.
const deliveryKey = (event: AboutYouEvent): DeliveryKey => {
  const key = `${event.event}:${event.subscription_id ?? 'none'}:${event.id}`
  return { key, scope: key }
}

const partnerSpec = <N extends AboutYouEventName>(
  middlewareName: string,
  events: ReadonlyArray<N>,
  authenticate: Authenticator
): PartnerSpec<AboutYouEvent<N>> => ({ partner: 'aboutyou', middlewareName, codec: aboutYouEventCodec(events), authenticate, deliveryKey })

/**
 * Express middleware for one About You URL that receives `event` (one name or a list): `X-API-Key` auth, strict
 * decoding, and either your `handler` (answered 200 once it resolves) or `next()` with the typed event in `req.body`.
 * Any other event at this URL is refused with a 400 problem that names the expected events.
 *
 * @example
 * app.post('/webhooks/about-you/shipped', aboutYouShipment('order_items.shipped', {
 *   apiKeys: process.env.ABOUT_YOU_API_KEY ?? '',
 *   handler: async (event) => { await shipments.record(event.message.tracking_key, event.message.items) }
 * }))
 */
export function aboutYouShipment<N extends AboutYouEventName>(
  event: N | ReadonlyArray<N>,
  options: AboutYouShipmentOptions<NoInfer<N>>
): WebhookMiddleware<AboutYouEvent<N>> {
  const factory = 'aboutYouShipment'
  if (typeof event !== 'string' && !Array.isArray(event)) {
    throw optionError(factory, `expected an event name or a list of them first; write app.post(path, ${factory}('order_items.shipped', { apiKeys }))`)
  }
  const events: ReadonlyArray<N> = typeof event === 'string' ? [event] : event
  assertEventNames(factory, events)
  assertOptionsObject(factory, options)
  assertKnownKeys(factory, options, [...COMMON_OPTION_KEYS, ...AUTH_OPTION_KEYS])
  const spec = partnerSpec('aboutYouShipmentMiddleware', [...new Set(events)], resolveAuth(factory, options))
  return createWebhookMiddleware(spec, resolveCommonOptions(factory, options))
}

// The codec admits only names that have a handler, so the lookup always finds one.
const dispatch =
  <N extends AboutYouEventName>(handlers: AboutYouHandlers<N>): WebhookHandler<AboutYouEvent<N>> =>
  (event, req, res, delivery) =>
    handlers[event.event](event, req, res, delivery)

/**
 * Express middleware for one About You URL that receives several events, each with its own handler, typed with its
 * own event. Events without a handler are refused with a 400 problem, like a wrong event at a single-event URL.
 *
 * @example
 * app.post('/webhooks/about-you', aboutYouWebhooks({
 *   'order_items.shipped': async (event) => { await shipments.shipped(event.message.items) },
 *   'order_items.returned': async (event) => { await shipments.returned(event.message.items) }
 * }, { apiKeys: process.env.ABOUT_YOU_API_KEY ?? '' }))
 */
export function aboutYouWebhooks<N extends AboutYouEventName>(
  handlers: AboutYouHandlers<N>,
  options: AboutYouWebhooksOptions
): WebhookMiddleware<AboutYouEvent<N>> {
  const factory = 'aboutYouWebhooks'
  const events = resolveHandlerNames(factory, handlers)
  assertOptionsObject(factory, options)
  if ('handler' in options) throw optionError(factory, '`handler` is not an option here: give one handler per event in the first argument')
  if ('handOff' in options) {
    throw optionError(factory, "`handOff` is not an option here (its handlers would never run): use aboutYouShipment(['order_items.shipped', ...], { handOff })")
  }
  assertKnownKeys(factory, options, [...COMMON_OPTION_KEYS.filter((k) => k !== 'handler' && k !== 'handOff'), ...AUTH_OPTION_KEYS])
  const spec = partnerSpec('aboutYouWebhooksMiddleware', events, resolveAuth(factory, options))
  const common = resolveCommonOptions<AboutYouEvent<N>>(factory, options)
  return createWebhookMiddleware(spec, Object.freeze({ ...common, handler: dispatch(handlers) }))
}
