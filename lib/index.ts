export { apiKeyAuth, basicAuth, type Authenticator, type BasicCredentials } from './core/auth.js'
export { DateTimeFromString, DigitString, NumberFromDigitString, PositiveInteger, SafeInteger, Uuid } from './core/codecs.js'
export { decodeWith, toFieldProblems } from './core/decode.js'
export type { FieldProblem, Problem, ProblemType } from './core/problem.js'
export type { PartnerSpec, Rejection, WebhookHandler, WebhookMiddleware, WebhookOptions, WebhookRequest } from './core/types.js'
export {
  MusementOrderItem,
  MusementOrderItemStatus,
  type MusementOrderItemEvent,
  type MusementOrderItemWire
} from './partners/musement/codec.js'
export {
  musementOrderItem,
  type MusementAuthOptions,
  type MusementOrderItemOptions
} from './partners/musement/middleware.js'
