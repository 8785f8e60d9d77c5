import type { Outcome } from './types.js'

// The engine's one seam for tracing and metrics: it opens a record when a request reaches a middleware, runs the
// handler inside it (so the app's own spans nest under it), and closes it with the request's outcome. Adapters
// (`express-partner-webhooks/opentelemetry`) turn that into spans and metrics; core depends on no telemetry library.

/** One request's record, from arrival to outcome. */
export interface DeliveryRecord {
  /** Runs the handler in the record's context, so what it traces is a child of the delivery. */
  within<T>(run: () => T): T
  /** Closes the record with how the request ended. Called exactly once. */
  end(outcome: Outcome): void
}

/** Opens a record per request. Pass one as the `telemetry` option, e.g. `openTelemetry()`. */
export interface Telemetry {
  /** Opens the record of one request that reached `partner`'s middleware. */
  start(partner: string): DeliveryRecord
}

/** True for an object with a `start` method. */
export const isTelemetry = (u: unknown): u is Telemetry => typeof u === 'object' && u !== null && 'start' in u && typeof u.start === 'function'
