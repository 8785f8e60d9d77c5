import { apiKeyAuth, noAuth, type Authenticator } from '../../core/auth.js'
import { assertOptionsObject, optionError, resolveOneOrMany } from '../../core/options.js'
import { ABOUT_YOU_EVENT_NAMES, type AboutYouEventName } from './codec.js'

/** How About You proves who it is: the API key(s) it sends in `X-API-Key`, or an explicit, loudly named opt-out. */
export type AboutYouAuthOptions =
  | { readonly apiKeys: string | ReadonlyArray<string>; readonly dangerouslyDisableAuthentication?: never }
  | { readonly dangerouslyDisableAuthentication: true; readonly apiKeys?: never }

export const AUTH_OPTION_KEYS = ['apiKeys', 'dangerouslyDisableAuthentication'] as const

const EVENT_LIST = ABOUT_YOU_EVENT_NAMES.join(', ')
const isEventName = (u: unknown): u is AboutYouEventName => ABOUT_YOU_EVENT_NAMES.some((n) => n === u)

const resolveApiKeys = (factory: string, apiKeys: unknown): ReadonlyArray<string> =>
  resolveOneOrMany(factory, 'apiKeys', apiKeys, 'pass at least one key', (key, where) => {
    if (typeof key !== 'string' || key === '') throw optionError(factory, `\`${where}\` must be a non-empty string, the key About You sends in X-API-Key`)
    // HTTP strips leading and trailing whitespace from header values (RFC 9110 §5.5), so such a key never matches.
    if (key.trim() !== key) throw optionError(factory, `\`${where}\` must not start or end with whitespace`)
    // Node reads header bytes as latin1, so a key with other characters never equals what a UTF-8 sender's header
    // decodes to: the middleware would refuse About You forever.
    if (!/^[\x20-\x7e]+$/.test(key)) throw optionError(factory, `\`${where}\` must be printable ASCII, as HTTP header values are`)
    return key
  })

/** The authenticator the options ask for; throws a TypeError naming the fix when they ask for nothing usable. */
export const resolveAuth = (factory: string, options: AboutYouAuthOptions): Authenticator => {
  if (options.dangerouslyDisableAuthentication === true) {
    if (options.apiKeys !== undefined) throw optionError(factory, 'pass `apiKeys` or `dangerouslyDisableAuthentication`, not both')
    return noAuth
  }
  if (options.apiKeys === undefined) throw optionError(factory, '`apiKeys` is required: pass your X-API-Key value (or a list, to rotate keys)')
  // The Sellers Center OpenAPI documents declare one security scheme: an API key in the `X-API-Key` header.
  return apiKeyAuth('X-API-Key', resolveApiKeys(factory, options.apiKeys))
}

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
