import type { Request, RequestHandler, Response } from 'express'
import type * as t from 'io-ts'
import type { Authenticator } from './auth.js'
import type { DeliveryKey, DeliveryStore } from './delivery.js'
import type { DeliveryInfo, StaleVersions } from './exactly-once.js'
import type { HandOff } from './hand-off.js'
import type { IpAllowlist } from './ip-allowlist.js'
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
  /** The handler's error, or a store error met while settling a handled delivery. */
  readonly error?: unknown
}

/** Request headers as hooks see them: credential headers (see `REDACTED_HEADERS`) have the value `'[redacted]'`. */
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
  /** The request headers, with Authorization, Proxy-Authorization, X-API-Key and Cookie values redacted. */
  readonly headers: RedactedHeaders
}

/** Options every partner factory accepts. */
export interface WebhookOptions<A> {
  /** Handles the decoded event; the middleware then answers 200. Without it, the middleware calls `next()`. */
  readonly handler?: WebhookHandler<A>
  /**
   * Hand-off mode, instead of `handler`: each new delivery is put on this queue and answered 200 once the queue has
   * it (503 if it cannot take it); a worker runs the handler later. See `express-partner-webhooks/handoff`.
   */
  readonly handOff?: HandOff
  /** Sees every refused request with its status and problems, for logs and metrics. */
  readonly onReject?: (rejection: Rejection) => void | Promise<void>
  /** Largest accepted body, in bytes or as a string such as `'100kb'` or `'1mb'`. Default `'100kb'`. */
  readonly limit?: number | string
  /** Where deliveries are claimed and remembered. Default: a `memoryStore()` of this middleware's own. */
  readonly store?: DeliveryStore
  /** How long a claim holds off concurrent retries of the same delivery, in ms. Default 120 000 (2 min). */
  readonly leaseMs?: number
  /** An older version arriving after a newer one: `'skip'` (answer 200, no handler; default) or `'deliver'`. */
  readonly staleVersions?: StaleVersions
  /** Sees how every request ended (processed, duplicate, stale, busy, rejected, failed), with key and duration. */
  readonly onOutcome?: (outcome: Outcome) => void | Promise<void>
  /**
   * Source addresses allowed to call (`'203.0.113.7'`, `'203.0.113.0/24'`, `'2001:db8::/32'`), checked against
   * `req.ip` before anything else; any other address gets 403. In addition to credentials, not instead of them:
   * to rely on the allowlist alone, also pass `dangerouslyDisableAuthentication: true`. Behind a proxy, set Express's
   * `trust proxy` so that `req.ip` is the sender's address rather than the proxy's.
   */
  readonly allowIps?: string | ReadonlyArray<string>
}

/** Options once validated: defaults applied, frozen. */
export interface ResolvedOptions<A> {
  readonly handler: WebhookHandler<A> | undefined
  readonly handOff: HandOff | undefined
  readonly onReject: ((rejection: Rejection) => void | Promise<void>) | undefined
  readonly limit: number
  readonly store: DeliveryStore | undefined
  readonly leaseMs: number
  readonly staleVersions: StaleVersions
  readonly onOutcome: ((outcome: Outcome) => void | Promise<void>) | undefined
  readonly allowIps: IpAllowlist | undefined
}

/** Everything partner-specific the shared pipeline needs. A new partner is a codec, an authenticator and this. */
export interface PartnerSpec<A> {
  /** Short partner name for hooks and logs, e.g. `musement`. */
  readonly partner: string
  /** Name given to the returned middleware function, so stack traces read well. */
  readonly middlewareName: string
  /** Decodes the body; its `encode` gives the wire form a hand-off job carries. */
  readonly codec: t.Type<A, unknown>
  readonly authenticate: Authenticator
  /** The idempotency key (and, for versioned partners, the scope and version) of a decoded event. */
  readonly deliveryKey: (event: A) => DeliveryKey
}
