// The public surface: named re-exports only, no logic. `express-partner-webhooks/testing` has the test kit.
export {
  apiKeyAuth,
  basicAuth,
  bearerAuth,
  type ApiKeyAuthOptions,
  type AuthOptions,
  type AuthScheme,
  type BasicCredentials,
  type Fail,
  type UnsignedRequest,
  type Verifier,
  type WithoutAuthentication,
  type WithSecrets
} from './core/auth.js'
export { standardWebhooksAuth, type StandardWebhooksAuthOptions } from './core/standard-webhooks.js'
export { definePartner, type PartnerDefinition, type PartnerFactory, type PartnerOptions } from './define-partner.js'
export {
  DateTimeFromRfc3339,
  DateTimeFromString,
  DigitString,
  NumberFromDigitString,
  PositiveInteger,
  SafeInteger,
  Uuid,
  type DigitStringBrand,
  type UuidBrand
} from './core/codecs.js'
export { compileDecoder, NO_MATCH, withFastPath, type FastPath, type NoMatch } from './core/compile.js'
export { decodeWith, toFieldProblems } from './core/decode.js'
export type { AsyncDeliveryStore, Claim, DeliveryKey, DeliveryStore, TransactionalStore } from './core/delivery.js'
export type { Later } from './core/later.js'
export type { DeliveryInfo, StaleVersions } from './core/exactly-once.js'
export type { HandOff, HandOffJob } from './core/hand-off.js'
export type { FieldProblem, Problem, ProblemType } from './core/problem.js'
export type { CommonOptions } from './core/options.js'
export type { LogMethod, Logger } from './core/logger.js'
export type { DeliveryRecord, Telemetry } from './core/telemetry.js'
export { webhookShutdown, type InFlight, type ShutdownReport, type ShutdownTracker, type WebhookShutdown } from './core/shutdown.js'
export type {
  Outcome,
  OutcomeKind,
  RedactedHeaders,
  Rejection,
  WebhookHandler,
  WebhookLocals,
  WebhookMiddleware,
  DeliveryOptions,
  DeliveryRequest,
  WebhookOptions,
  WebhookRequest,
  WebhookResponse
} from './core/types.js'
export { memoryStore, DEFAULT_MAX_ENTRIES, type MemoryStore, type MemoryStoreOptions } from './stores/memory.js'
export { redisStore, DEFAULT_REDIS_TIMEOUT_MS, type RedisScriptClient, type RedisStoreOptions } from './stores/redis.js'
export {
  postgresStore,
  postgresStoreSchema,
  DEFAULT_POSTGRES_TABLE,
  type PostgresClient,
  type PostgresPool,
  type PostgresResult,
  type PostgresStore,
  type PostgresStoreOptions,
  type PruneResult
} from './stores/postgres.js'
export { DEFAULT_RETENTION_MS } from './stores/options.js'
export {
  MusementOrderItem,
  MusementOrderItemStatus,
  type MusementOrderItemEvent,
  type MusementOrderItemWire
} from './partners/musement/codec.js'
export {
  musementDeliveryKey,
  musementOrderItem,
  type MusementAuthOptions,
  type MusementOrderItemOptions
} from './partners/musement/middleware.js'
export {
  ABOUT_YOU_EVENT_NAMES,
  AboutYouOrderItem,
  AboutYouOrderItemsCancelled,
  AboutYouOrderItemsEvent,
  AboutYouOrderItemsReturned,
  AboutYouOrderItemsShipped,
  AboutYouOrderItemStatus,
  AboutYouShipment,
  aboutYouEventCodec,
  type AboutYouEvent,
  type AboutYouEventName,
  type AboutYouEventWire,
  type AboutYouOrderItemsCancelledEvent,
  type AboutYouOrderItemsReturnedEvent,
  type AboutYouOrderItemsShippedEvent,
  type AboutYouOrderItemWire
} from './partners/aboutyou/codec.js'
export {
  aboutYouShipment,
  aboutYouWebhooks,
  type AboutYouAuthOptions,
  type AboutYouHandlers,
  type AboutYouShipmentOptions,
  type AboutYouWebhooksOptions,
  type WebhooksCommonOptions
} from './partners/aboutyou/middleware.js'
