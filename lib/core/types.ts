import type { Request, RequestHandler, Response } from 'express'
import type * as t from 'io-ts'
import type { Authenticator } from './auth.js'
import type { DeliveryKey, DeliveryStore, TransactionalStore } from './delivery.js'
import type { DeliveryInfo, StaleVersions } from './exactly-once.js'
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
 * `Tx` is the store's transaction type (`delivery.transaction`), `undefined` unless the store has one.
 */
export type WebhookHandler<A, Tx = undefined> = (
  event: A,
  req: WebhookRequest<A>,
  res: WebhookResponse,
  delivery: DeliveryInfo<Tx>
) => void | Promise<void>

/** How a request ended, for logs and metrics. `failed` covers a throwing handler and an unreachable store. */
export type OutcomeKind = 'processed' | 'duplicate' | 'stale' | 'busy' | 'rejected' | 'failed'

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

/** Options every partner factory accepts; `Tx` is the transaction type of `store`, if it has one. */
export interface WebhookOptions<A, Tx = undefined> {
  /** Handles the decoded event; the middleware then answers 200. Without it, the middleware calls `next()`. */
  readonly handler?: WebhookHandler<A, Tx>
  /** Sees every refused request with its status and problems, for logs and metrics. */
  readonly onReject?: (rejection: Rejection) => void | Promise<void>
  /** Largest accepted body, in bytes or as a string such as `'100kb'` or `'1mb'`. Default `'100kb'`. */
  readonly limit?: number | string
  /**
   * Where deliveries are claimed and remembered. Default: a `memoryStore()` of this middleware's own. A
   * transactional store (`postgresStore`) gives the handler its open transaction as `delivery.transaction`.
   */
  readonly store?: DeliveryStore<Tx>
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

/** Factory options `O` with a transactional store, whose transaction (a `Tx`) the handler receives. */
export type WithTransaction<O, Tx> = O & { readonly store: TransactionalStore<Tx> }

/** Options once validated: defaults applied, frozen. A transactional store and the handler agree on `Tx`. */
export type ResolvedOptions<A, Tx = undefined> = ResolvedSettings &
  (
    | { readonly transactional: false; readonly store: DeliveryStore | undefined; readonly handler: WebhookHandler<A> | undefined }
    | { readonly transactional: true; readonly store: TransactionalStore<Tx>; readonly handler: WebhookHandler<A, Tx> }
  )

/** The resolved options that do not depend on the store. */
export interface ResolvedSettings {
  readonly onReject: ((rejection: Rejection) => void | Promise<void>) | undefined
  readonly limit: number
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
  readonly codec: t.Decoder<unknown, A>
  readonly authenticate: Authenticator
  /** The idempotency key (and, for versioned partners, the scope and version) of a decoded event. */
  readonly deliveryKey: (event: A) => DeliveryKey
}
