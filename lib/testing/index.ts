import { basicAuthorization } from '../core/auth.js'

// The test kit (`express-partner-webhooks/testing`): deliveries and headers for any defined partner, the vendors'
// examples as fixtures, and a simulated partner that retries like the real ones.

export { aboutYouOrderItemFixture, aboutYouOrderItemsFixture } from '../partners/aboutyou/fixtures.js'
export { musementOrderItemExample, musementOrderItemFixture } from '../partners/musement/fixtures.js'
export {
  partnerDelivery,
  sendDelivery,
  type DefinedPartner,
  type DeliveryAnswer,
  type PartnerDeliveryOptions
} from './partner.js'

export {
  SIMULATED_ATTEMPT_HEADER,
  simulatePartner,
  type DropConnections,
  type PartnerDelivery,
  type SimulatedAnswer,
  type SimulatePartnerOptions,
  type SimulationReport
} from './simulator.js'

/**
 * The `Authorization` header value for HTTP Basic credentials, as Musement sends it.
 *
 * @example
 * await request(app).post('/webhooks/musement').set('Authorization', basicAuthHeader('musement', 'secret'))
 */
export const basicAuthHeader = (username: string, password: string): string => basicAuthorization({ username, password })

/**
 * The `X-API-Key` header About You sends, for `request(app).post(...).set(...)`.
 *
 * @example
 * await request(app).post('/webhooks/about-you').set(apiKeyHeader('secret')).send(aboutYouOrderItemsFixture('order_items.shipped'))
 */
export const apiKeyHeader = (key: string): { readonly 'X-API-Key': string } => ({ 'X-API-Key': key })
