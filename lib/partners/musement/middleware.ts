import { basicAuth, noAuth, type Authenticator, type BasicCredentials } from '../../core/auth.js'
import {
  assertKnownKeys,
  assertOptionsObject,
  COMMON_OPTION_KEYS,
  optionError,
  resolveCommonOptions,
  resolveOneOrMany
} from '../../core/options.js'
import { createWebhookMiddleware } from '../../core/pipeline.js'
import type { DeliveryKey } from '../../core/delivery.js'
import type { WebhookMiddleware, WebhookOptions, WithTransaction } from '../../core/types.js'
import { MusementOrderItem, type MusementOrderItemEvent } from './codec.js'

const FACTORY = 'musementOrderItem'

/** How Musement proves who it is: HTTP Basic credentials you chose, or an explicit, loudly named opt-out. */
export type MusementAuthOptions =
  | { readonly credentials: BasicCredentials | ReadonlyArray<BasicCredentials>; readonly dangerouslyDisableAuthentication?: never }
  | { readonly dangerouslyDisableAuthentication: true; readonly credentials?: never }

/** Options of {@link musementOrderItem}; `Tx` is the transaction type of the `store`, if it has one. */
export type MusementOrderItemOptions<Tx = undefined> = WebhookOptions<MusementOrderItemEvent, Tx> & MusementAuthOptions

const isNonEmptyString = (u: unknown): u is string => typeof u === 'string' && u !== ''

const resolveCredentials = (credentials: unknown): ReadonlyArray<BasicCredentials> =>
  resolveOneOrMany(FACTORY, 'credentials', credentials, 'pass at least one { username, password }', (c, where) => {
    if (typeof c !== 'object' || c === null) throw optionError(FACTORY, `\`${where}\` must be { username, password }`)
    const username = 'username' in c ? c.username : undefined
    const password = 'password' in c ? c.password : undefined
    if (!isNonEmptyString(username) || username.includes(':')) {
      throw optionError(FACTORY, `\`${where}.username\` must be a non-empty string without ':' (RFC 7617)`)
    }
    if (!isNonEmptyString(password)) throw optionError(FACTORY, `\`${where}.password\` must be a non-empty string`)
    return Object.freeze({ username, password })
  })

const resolveAuth = (options: MusementAuthOptions): Authenticator => {
  if (options.dangerouslyDisableAuthentication === true) {
    if (options.credentials !== undefined) throw optionError(FACTORY, 'pass `credentials` or `dangerouslyDisableAuthentication`, not both')
    return noAuth
  }
  if (options.credentials === undefined) {
    throw optionError(FACTORY, '`credentials` is required: pass { username, password } (or a list, to rotate them)')
  }
  return basicAuth('musement', resolveCredentials(options.credentials))
}

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
export function musementOrderItem(options: MusementOrderItemOptions): WebhookMiddleware<MusementOrderItemEvent>
/** With a transactional `store` (`postgresStore`): the handler gets its open transaction as `delivery.transaction`. */
export function musementOrderItem<Tx>(options: WithTransaction<MusementOrderItemOptions<Tx>, Tx>): WebhookMiddleware<MusementOrderItemEvent>
export function musementOrderItem<Tx>(
  options: MusementOrderItemOptions | WithTransaction<MusementOrderItemOptions<Tx>, Tx>
): WebhookMiddleware<MusementOrderItemEvent> {
  assertOptionsObject(FACTORY, options)
  assertKnownKeys(FACTORY, options, [...COMMON_OPTION_KEYS, 'credentials', 'dangerouslyDisableAuthentication'])
  const spec = {
    partner: 'musement',
    middlewareName: 'musementOrderItemMiddleware',
    codec: MusementOrderItem,
    authenticate: resolveAuth(options),
    deliveryKey: musementDeliveryKey
  }
  return createWebhookMiddleware(spec, resolveCommonOptions<MusementOrderItemEvent, Tx>(FACTORY, options))
}
