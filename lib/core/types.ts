import type { Request, RequestHandler, Response } from 'express'
import type { IncomingHttpHeaders } from 'node:http'
import type * as t from 'io-ts'
import type { Verifier } from './auth.js'
import type { DeliveryKey, DeliveryStore } from './delivery.js'
import type { DeliveryInfo } from './exactly-once.js'
import type { CommonOptions, ResolvedCommonOptions } from './options.js'
import type { FieldProblem, ProblemType } from './problem.js'

/** `res.locals` after the middleware: `webhook` describes the delivery (key, staleness) for `next()`-style routes. */
export type WebhookLocals = { webhook: DeliveryInfo }

/** An Express request whose `body` is the decoded event `A`. Use it to type handlers written in other files. */
// Express's default route parameter and query types are read off `Request`, so only `express` itself is imported.
export type WebhookRequest<A> = Request<Request['params'], unknown, A, Request['query'], WebhookLocals>

/** The response a webhook route writes; `res.locals.webhook` is typed. */
export type WebhookResponse = Response<unknown, WebhookLocals>

/**
 * The middleware a factory returns. Its `ReqBody` type parameter is the decoded event, so the next handler on
 * the same route reads a typed `req.body` (and `res.locals.webhook`) without a cast.
 */
export type WebhookMiddleware<A> = RequestHandler<Request['params'], unknown, A, Request['query'], WebhookLocals>

/**
 * Called once per delivery (never again for a duplicate). Resolve to have the middleware record the delivery as
 * done and answer 200; throw or reject to release it and answer 5xx through `next(err)`, so the partner retries.
 */
export type WebhookHandler<A> = (event: A, req: WebhookRequest<A>, res: WebhookResponse, delivery: DeliveryInfo) => void | Promise<void>

/**
 * How a request ended, for logs and metrics. `failed` covers a throwing handler and an unreachable store (or queue);
 * `queued` is a delivery put on the queue in hand-off mode.
 */
export type OutcomeKind = 'processed' | 'duplicate' | 'stale' | 'busy' | 'rejected' | 'failed' | 'queued'

/** What `onOutcome` receives once per request that reached the middleware. */
export interface Outcome {
  readonly partner: string
  readonly outcome: OutcomeKind
  readonly status: number
  /** The idempotency key, once the body was decoded. */
  readonly key: string | undefined
  readonly durationMs: number
  /** The problem type of a refused request. */
  readonly type?: ProblemType
  /**
   * Set for every `failed` outcome: the handler's error, or the store's (an unreachable store); also set on a
   * `processed` one whose completion the store refused past the lease. `JSON.stringify(outcome)` renders it as
   * `{ name, message, stack }`.
   */
  readonly error?: unknown
  /** For a `rejected` (or `busy`, or 503) outcome: what `onReject` received, so one hook can log everything. */
  readonly rejection?: Rejection
  /** How long the handler ran, in ms (to the µs), when one ran. */
  readonly handlerMs?: number
}

/** Request headers as hooks see them: credential headers have the value `'[redacted]'`. */
export type RedactedHeaders = Readonly<Record<string, string | ReadonlyArray<string>>>

/** What `onReject` receives for every refused request. Credentials and bodies are never part of it. */
export interface Rejection {
  readonly partner: string
  readonly status: number
  readonly type: ProblemType
  readonly title: string
  readonly detail?: string
  readonly errors?: ReadonlyArray<FieldProblem>
  readonly method: string
  readonly path: string
  readonly ip: string | undefined
  /** The request headers, with the values of credential headers (the scheme's, and Cookie) redacted. */
  readonly headers: RedactedHeaders
}

/** Where the decoded event goes and where deliveries are recorded. */
export interface DeliveryOptions<A> {
  /** Handles the decoded event; the middleware then answers 200. Without it, the middleware calls `next()`. */
  readonly handler?: WebhookHandler<A>
  /** Where deliveries are claimed and remembered. Default: a `memoryStore()` of this middleware's own. */
  readonly store?: DeliveryStore<unknown>
}

/** Options every partner factory accepts, besides its authentication. */
export type WebhookOptions<A> = CommonOptions & DeliveryOptions<A>

/** Options once validated: defaults applied, frozen. */
export type ResolvedOptions<A> = ResolvedCommonOptions & {
  readonly store: DeliveryStore<unknown>
  readonly handler: WebhookHandler<A> | undefined
}

/** What the request's headers look like to a delivery key. */
export interface DeliveryRequest {
  readonly headers: IncomingHttpHeaders
}

/** Everything partner-specific the pipeline needs, resolved at factory time. */
export interface PartnerSpec<A> {
  /** Short partner name for hooks, logs and challenges. */
  readonly partner: string
  /** Name given to the returned middleware function, so stack traces read well. */
  readonly middlewareName: string
  readonly codec: t.Decoder<unknown, A>
  readonly verifier: Verifier
  /** Header names whose values hooks never see. */
  readonly redact: ReadonlyArray<string>
  /** The idempotency key (and, for versioned partners, the scope and version) of a decoded event. */
  readonly deliveryKey: (event: A, request: DeliveryRequest) => DeliveryKey
}
