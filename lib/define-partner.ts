import * as t from 'io-ts'
import type { AuthOptions, AuthScheme, Verifier, WithoutAuthentication, WithSecrets } from './core/auth.js'
import { noAuth } from './core/auth.js'
import type { DeliveryKey } from './core/delivery.js'
import {
  assertKnownKeys,
  assertOptionsObject,
  checkDeliveryOptions,
  COMMON_OPTION_NAMES,
  optionError,
  resolveCommonOptions,
  resolveOneOrMany
} from './core/options.js'
import { createWebhookMiddleware } from './core/pipeline.js'
import type { DeliveryRequest, PartnerSpec, WebhookMiddleware, WebhookOptions } from './core/types.js'
import { memoryStore } from './stores/memory.js'

// The engine behind every partner factory: Musement's, About You's and any a user defines. It sits outside core
// because it chooses the default store (core never imports a store).

/** What makes a partner: a name, a codec, an authentication scheme and a delivery key. */
export interface PartnerDefinition<A, Option extends string, Secret> {
  /** Short name for hooks, logs and the realm of challenges, e.g. `'getyourguide'`. */
  readonly name: string
  /** Decodes the JSON body into the typed event; any io-ts decoder from `unknown`. */
  readonly codec: t.Decoder<unknown, A>
  /** How the partner proves who it is: `basicAuth()`, `apiKeyAuth({ header })`, `bearerAuth()`, `standardWebhooksAuth()`. */
  readonly auth: AuthScheme<Option, Secret>
  /**
   * The idempotency key of a delivery. Include the partner's name: keys of every partner sharing a store share one
   * space. `scope` is what must be handled one at a time, `version` (if any) orders the deliveries of a scope.
   * May be left out when the scheme carries a delivery id (Standard Webhooks' `webhook-id`).
   */
  readonly deliveryKey?: (event: A, request: DeliveryRequest) => DeliveryKey
  /** The factory's name in error messages; the middleware is named `<factory>Middleware`. Default: `name`. */
  readonly factory?: string
}

/** The options of a defined partner's factory: the common ones, plus its scheme's secrets. */
export type PartnerOptions<A, Option extends string, Secret> = WebhookOptions<A> & AuthOptions<Option, Secret>

/**
 * A partner's middleware factory. Three signatures, so that options without secrets are also reported against the one that
 * needs them (naming `credentials`, `apiKeys`, ...), not only against the opt-out. The second parameter admits nothing
 * but `undefined`: that keeps `app.use(factory)` (the factory registered without being called, which Express would
 * call with a request) from compiling.
 */
export interface PartnerFactory<A, Option extends string, Secret> {
  /** Options whose authentication is decided at run time (secrets, or the opt-out). */
  (options: PartnerOptions<A, Option, Secret>, notAMiddleware?: undefined): WebhookMiddleware<A>
  /** Every request accepted: only with `dangerouslyDisableAuthentication: true`. */
  (options: WebhookOptions<A> & WithoutAuthentication<Option>, notAMiddleware?: undefined): WebhookMiddleware<A>
  /** Requests authenticated with the scheme's secrets. */
  (options: WebhookOptions<A> & WithSecrets<Option, Secret>, notAMiddleware?: undefined): WebhookMiddleware<A>
  readonly definition: PartnerDefinition<A, Option, Secret>
}

const AUTH_OPTION_NAMES = ['credentials', 'apiKeys', 'tokens', 'secrets'] as const

const resolveVerifier = <A, Option extends string, Secret>(
  factory: string,
  definition: PartnerDefinition<A, Option, Secret>,
  options: AuthOptions<Option, Secret>
): Verifier => {
  const { auth } = definition
  const secrets: unknown = options[auth.option]
  if (options.dangerouslyDisableAuthentication === true) {
    if (secrets !== undefined) throw optionError(factory, `pass \`${auth.option}\` or \`dangerouslyDisableAuthentication\`, not both`)
    return noAuth
  }
  if (secrets === undefined) throw optionError(factory, `\`${auth.option}\` is required: pass one ${auth.expected} (or a list, to rotate them)`)
  const resolved = resolveOneOrMany(factory, auth.option, secrets, `pass at least one ${auth.expected}`, (entry, where) =>
    auth.check(entry, (problem, field) => {
      throw optionError(factory, `\`${where}${field === undefined ? '' : `.${field}`}\` ${problem}`)
    })
  )
  return auth.verifier(resolved, definition.name)
}

const assertOptionNames = <Option extends string, Secret>(factory: string, options: object, auth: AuthScheme<Option, Secret>): void => {
  for (const name of AUTH_OPTION_NAMES) {
    if (name !== auth.option && name in options) {
      throw optionError(factory, `unknown option \`${name}\`: ${factory} authenticates with \`${auth.option}\` (${auth.expected})`)
    }
  }
  assertKnownKeys(factory, options, [...COMMON_OPTION_NAMES, auth.option, 'dangerouslyDisableAuthentication'])
}

/**
 * One middleware from a definition and the options of one call. Partners whose factories take more than options
 * (About You's event names) call this with the definition narrowed for that call.
 */
export const partnerMiddleware = <A, Option extends string, Secret>(
  definition: PartnerDefinition<A, Option, Secret>,
  options: PartnerOptions<NoInfer<A>, NoInfer<Option>, NoInfer<Secret>>
): WebhookMiddleware<A> => {
  const factory = definition.factory ?? definition.name
  assertOptionsObject(factory, options)
  assertOptionNames(factory, options, definition.auth)
  checkDeliveryOptions(factory, options)
  if (options.handOff !== undefined && options.handler !== undefined) {
    throw optionError(factory, 'pass `handler` or `handOff`, not both: in hand-off mode the worker runs the handler')
  }
  if (options.store?.transactional === true && options.handler === undefined) {
    // A route answers before the store could commit; the transaction would protect nothing.
    throw optionError(factory, 'this store is transactional (postgresStore): pass `handler`, whose writes commit with the delivery before the 200 (a next() route answers before the commit could run)')
  }
  const { deliveryKey, auth, name } = definition
  const spec: PartnerSpec<A> = {
    partner: name,
    middlewareName: `${factory}Middleware`,
    codec: definition.codec,
    verifier: resolveVerifier<A, Option, Secret>(factory, definition, options),
    redact: auth.redact,
    deliveryKey: deliveryKey ?? keyFromHeaders(factory, auth, name)
  }
  const common = resolveCommonOptions(factory, options)
  return createWebhookMiddleware(spec, { ...common, store: options.store ?? memoryStore(), handler: options.handler })
}

const keyFromHeaders =
  <Option extends string, Secret>(factory: string, auth: AuthScheme<Option, Secret>, partner: string) =>
  (_event: unknown, request: DeliveryRequest): DeliveryKey => {
    const key = auth.deliveryKey?.(request.headers, partner)
    // The scheme's header check runs first and requires the id, so this only fires for a scheme without one.
    if (key === undefined) throw new TypeError(`${factory}: the request carries no delivery id; give the partner a deliveryKey`)
    return key
  }

const assertDefinition = <A, Option extends string, Secret>(d: PartnerDefinition<A, Option, Secret>): void => {
  const where = 'definePartner'
  if (typeof d !== 'object' || d === null) throw optionError(where, 'expected a definition { name, codec, auth, deliveryKey }')
  if (typeof d.name !== 'string' || !/^[A-Za-z][A-Za-z0-9_.-]*$/.test(d.name)) {
    throw optionError(where, '`name` must be a short name of letters, digits, `_`, `.` or `-`, such as \'getyourguide\'')
  }
  if (!(d.codec instanceof t.Type) && typeof d.codec?.decode !== 'function') throw optionError(where, '`codec` must be an io-ts decoder')
  if (typeof d.auth?.verifier !== 'function') throw optionError(where, '`auth` must be a scheme: basicAuth(), apiKeyAuth({ header }), bearerAuth() or standardWebhooksAuth()')
  if (d.deliveryKey === undefined && d.auth.deliveryKey === undefined) {
    throw optionError(where, `\`deliveryKey\` is required: ${d.auth.option} carries no delivery id`)
  }
  if (d.deliveryKey !== undefined && typeof d.deliveryKey !== 'function') throw optionError(where, '`deliveryKey` must be a function')
}

/**
 * Defines a partner: any webhook with a JSON body gets typed decoding, authentication, problem answers and
 * exactly-once delivery, through a factory with the same shape and guarantees as `musementOrderItem`.
 *
 * @example
 * export const getYourGuideBooking = definePartner({
 *   name: 'getyourguide',
 *   codec: GetYourGuideBooking,
 *   auth: bearerAuth(),
 *   deliveryKey: (event) => ({ key: `getyourguide:${event.booking_id}:${event.version}`, scope: `getyourguide:${event.booking_id}`, version: event.version })
 * })
 * app.post('/webhooks/gyg', getYourGuideBooking({ tokens: process.env.GYG_TOKEN ?? '', handler: async (event) => {} }))
 */
export const definePartner = <A, Option extends string, Secret>(
  definition: PartnerDefinition<A, Option, Secret>
): PartnerFactory<A, Option, Secret> => {
  assertDefinition(definition)
  const frozen = Object.freeze({ ...definition })
  const factory = (options: PartnerOptions<A, Option, Secret>): WebhookMiddleware<A> => partnerMiddleware(frozen, options)
  Object.defineProperty(factory, 'name', { value: frozen.factory ?? frozen.name })
  return Object.assign(factory, { definition: frozen })
}
