import { apiKeyAuth, type AuthOptions } from '../../core/auth.js'
import { assertOptionsObject, optionError } from '../../core/options.js'
import { ABOUT_YOU_EVENT_NAMES, type AboutYouEventName } from './codec.js'

/** How About You proves who it is: the API key(s) it sends in `X-API-Key`, or an explicit, loudly named opt-out. */
export type AboutYouAuthOptions = AuthOptions<'apiKeys', string>

/** The Sellers Center OpenAPI documents declare one security scheme: an API key in the `X-API-Key` header. */
export const aboutYouAuth = apiKeyAuth({ header: 'X-API-Key' })

const EVENT_LIST = ABOUT_YOU_EVENT_NAMES.join(', ')
const isEventName = (u: unknown): u is AboutYouEventName => ABOUT_YOU_EVENT_NAMES.some((n) => n === u)

/** Refuses an empty list and any name About You does not send. */
export const assertEventNames = (factory: string, names: ReadonlyArray<unknown>): void => {
  if (names.length === 0) throw optionError(factory, `no event given: name at least one of ${EVENT_LIST}`)
  for (const name of names) {
    if (!isEventName(name)) throw optionError(factory, `unknown event ${JSON.stringify(name)}: expected one of ${EVENT_LIST}`)
  }
}

/** Checks a map from event name to handler and returns its event names. */
export const resolveHandlerNames = <N extends AboutYouEventName>(factory: string, handlers: { readonly [K in N]: unknown }): ReadonlyArray<N> => {
  if (typeof handlers !== 'object' || handlers === null || Array.isArray(handlers)) {
    throw optionError(factory, `expected a map from event name to handler first, e.g. ${factory}({ 'order_items.shipped': onShipped }, { apiKeys })`)
  }
  assertOptionsObject(factory, handlers)
  const entries: ReadonlyArray<[string, unknown]> = Object.entries(handlers)
  assertEventNames(factory, entries.map(([name]) => name))
  for (const [name, handler] of entries) {
    if (typeof handler !== 'function') throw optionError(factory, `the handler for ${name} must be a function, got ${typeof handler}`)
  }
  return ABOUT_YOU_EVENT_NAMES.filter((name): name is N => Object.hasOwn(handlers, name))
}
