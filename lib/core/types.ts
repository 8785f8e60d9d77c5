import type { Request, RequestHandler, Response } from 'express'
import type * as t from 'io-ts'
import type { Authenticator } from './auth.js'
import type { FieldProblem, ProblemType } from './problem.js'

// Express's default route parameters type, read off `Request` so that only `express` itself is imported.
type ParamsDictionary = Request['params']

/** An Express request whose `body` is the decoded event `A`. Use it to type handlers written in other files. */
export type WebhookRequest<A> = Request<ParamsDictionary, unknown, A>

/**
 * The middleware a factory returns. Its `ReqBody` type parameter is the decoded event, so the next handler on
 * the same route reads a typed `req.body` without a cast.
 */
export type WebhookMiddleware<A> = RequestHandler<ParamsDictionary, unknown, A>

/** Called once per accepted webhook. Resolve to have the middleware answer 200; throw or reject to answer 5xx. */
export type WebhookHandler<A> = (event: A, req: WebhookRequest<A>, res: Response) => void | Promise<void>

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
}

/** Options every partner factory accepts. */
export interface WebhookOptions<A> {
  /** Handles the decoded event; the middleware then answers 200. Without it, the middleware calls `next()`. */
  readonly handler?: WebhookHandler<A>
  /** Sees every refused request with its status and problems, for logs and metrics. */
  readonly onReject?: (rejection: Rejection) => void
  /** Largest accepted body, in bytes or as a string such as `'100kb'` or `'1mb'`. Default `'100kb'`. */
  readonly limit?: number | string
}

/** Options once validated: defaults applied, frozen. */
export interface ResolvedOptions<A> {
  readonly handler: WebhookHandler<A> | undefined
  readonly onReject: ((rejection: Rejection) => void) | undefined
  readonly limit: number
}

/** Everything partner-specific the shared pipeline needs. A new partner is a codec, an authenticator and this. */
export interface PartnerSpec<A> {
  /** Short partner name for hooks and logs, e.g. `musement`. */
  readonly partner: string
  /** Name given to the returned middleware function, so stack traces read well. */
  readonly middlewareName: string
  readonly codec: t.Decoder<unknown, A>
  readonly authenticate: Authenticator
}
