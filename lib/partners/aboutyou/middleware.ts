import type { DeliveryKey } from '../../core/delivery.js'
import { optionError } from '../../core/options.js'
import type { CommonOptions } from '../../core/options.js'
import type { WithoutAuthentication, WithSecrets } from '../../core/auth.js'
import type { DeliveryOptions, WebhookHandler, WebhookMiddleware, WebhookOptions } from '../../core/types.js'
import { partnerMiddleware, type PartnerDefinition, type PartnerOptions } from '../../define-partner.js'
import { aboutYouEventCodec, AboutYouOrderItemsEvent, type AboutYouEvent, type AboutYouEventName } from './codec.js'
import { aboutYouAuth, assertEventNames, resolveHandlerNames, type AboutYouAuthOptions } from './options.js'

export type { AboutYouAuthOptions } from './options.js'

/** Options of {@link aboutYouShipment}; `handler` receives only the events `N` the URL was set up for. */
export type AboutYouShipmentOptions<N extends AboutYouEventName> = PartnerOptions<AboutYouEvent<N>, 'apiKeys', string>

/**
 * The options of {@link aboutYouWebhooks} besides its authentication: every common one but `handler` and `handOff`
 * (for hand-off, use {@link aboutYouShipment} with a list of events: the handlers then belong to the worker).
 */
export type WebhooksCommonOptions = Omit<CommonOptions & DeliveryOptions<AboutYouEvent>, 'handler' | 'handOff'>

/** Options of {@link aboutYouWebhooks}: the handlers are its first argument, one per event. */
export type AboutYouWebhooksOptions = WebhooksCommonOptions & AboutYouAuthOptions

/** One handler per event name, each typed with its own event. */
export type AboutYouHandlers<N extends AboutYouEventName> = { readonly [K in N]: WebhookHandler<AboutYouEvent<K>> }

// About You's hourly retries re-send the same message `id`. The documents do not say whether ids are unique across
// events and subscriptions, so both are part of the key: a false duplicate would drop an event unhandled.
const deliveryKey = (event: AboutYouEvent): DeliveryKey => {
  const key = `${event.event}:${event.subscription_id ?? 'none'}:${event.id}`
  return { key, scope: key }
}

const aboutYou: PartnerDefinition<AboutYouEvent, 'apiKeys', string> = { name: 'aboutyou', codec: AboutYouOrderItemsEvent, auth: aboutYouAuth, deliveryKey }

// The definition for one call: its factory's name, and a codec that takes only the events `events`.
const forEvents = <N extends AboutYouEventName>(factory: string, events: ReadonlyArray<N>): PartnerDefinition<AboutYouEvent<N>, 'apiKeys', string> => ({
  ...aboutYou,
  factory,
  codec: aboutYouEventCodec(events)
})

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
  options: AboutYouShipmentOptions<NoInfer<N>>,
  notAMiddleware?: undefined
): WebhookMiddleware<AboutYouEvent<N>>
// The same, split by authentication, so that options without `apiKeys` are also reported against the signature that
// needs them (see PartnerFactory).
export function aboutYouShipment<N extends AboutYouEventName>(
  event: N | ReadonlyArray<N>,
  options: WebhookOptions<AboutYouEvent<NoInfer<N>>> & WithoutAuthentication<'apiKeys'>,
  notAMiddleware?: undefined
): WebhookMiddleware<AboutYouEvent<N>>
export function aboutYouShipment<N extends AboutYouEventName>(
  event: N | ReadonlyArray<N>,
  options: WebhookOptions<AboutYouEvent<NoInfer<N>>> & WithSecrets<'apiKeys', string>,
  notAMiddleware?: undefined
): WebhookMiddleware<AboutYouEvent<N>>
export function aboutYouShipment<N extends AboutYouEventName>(
  event: N | ReadonlyArray<N>,
  options: AboutYouShipmentOptions<NoInfer<N>>,
  notAMiddleware?: undefined
): WebhookMiddleware<AboutYouEvent<N>> {
  const factory = 'aboutYouShipment'
  if (typeof event !== 'string' && !Array.isArray(event)) {
    throw optionError(factory, `expected an event name or a list of them first; write app.post(path, ${factory}('order_items.shipped', { apiKeys }))`)
  }
  const events: ReadonlyArray<N> = typeof event === 'string' ? [event] : event
  assertEventNames(factory, events)
  void notAMiddleware
  return partnerMiddleware(forEvents(factory, [...new Set(events)]), options)
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
  options: AboutYouWebhooksOptions,
  notAMiddleware?: undefined
): WebhookMiddleware<AboutYouEvent<N>>
export function aboutYouWebhooks<N extends AboutYouEventName>(
  handlers: AboutYouHandlers<N>,
  options: WebhooksCommonOptions & WithoutAuthentication<'apiKeys'>,
  notAMiddleware?: undefined
): WebhookMiddleware<AboutYouEvent<N>>
export function aboutYouWebhooks<N extends AboutYouEventName>(
  handlers: AboutYouHandlers<N>,
  options: WebhooksCommonOptions & WithSecrets<'apiKeys', string>,
  notAMiddleware?: undefined
): WebhookMiddleware<AboutYouEvent<N>>
export function aboutYouWebhooks<N extends AboutYouEventName>(
  handlers: AboutYouHandlers<N>,
  options: AboutYouWebhooksOptions,
  notAMiddleware?: undefined
): WebhookMiddleware<AboutYouEvent<N>> {
  const factory = 'aboutYouWebhooks'
  const events = resolveHandlerNames(factory, handlers)
  if (typeof options === 'object' && options !== null && 'handler' in options) {
    throw optionError(factory, '`handler` is not an option here: give one handler per event in the first argument')
  }
  if (typeof options === 'object' && options !== null && 'handOff' in options) {
    throw optionError(factory, "`handOff` is not an option here (its handlers would never run): use aboutYouShipment(['order_items.shipped', ...], { handOff })")
  }
  void notAMiddleware
  return partnerMiddleware(forEvents(factory, events), { ...options, handler: dispatch(handlers) })
}
