import type { NextFunction } from 'express'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { memoryStore } from '../stores/memory.js'
import { decodeWith, describeValue } from './decode.js'
import type { DeliveryKey, DeliveryStore } from './delivery.js'
import { claimDelivery, settle, type DeliveryInfo } from './exactly-once.js'
import { callHook } from './hooks.js'
import { acknowledge } from './respond.js'
import { checkSource } from './ip-allowlist.js'
import { methodNotAllowed, problemBody, sendProblem, type Problem } from './problem.js'
import { checkContentType, closeAfterAnswer, readJsonBody } from './read-body.js'
import { redactHeaders } from './redact.js'
import type { Outcome, PartnerSpec, Rejection, ResolvedOptions, WebhookMiddleware, WebhookRequest, WebhookResponse } from './types.js'

// Node keeps only the first of several Authorization lines (RFC 9110 makes it a singleton field), so `Basic <valid>`
// followed by `Basic <other>` passed on the first alone, while a proxy in front may have read the last. Joined like a
// list header (as Node already joins repeated X-API-Key lines), the copies no longer parse as one credential.
// Counted in rawHeaders first: `headersDistinct` builds an array for every header of the request on first use.
const credentialHeaders = (req: WebhookRequest<unknown>): WebhookRequest<unknown>['headers'] => {
  let lines = 0
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]?.toLowerCase() === 'authorization') lines++
  if (lines < 2) return req.headers
  const all = req.headersDistinct['authorization']
  return all !== undefined && all.length > 1 ? { ...req.headers, authorization: all.join(', ') } : req.headers
}

/**
 * Calls `then` when the app ends a response whose connection is already gone. Node emits nothing for that `end()`
 * (no 'finish', no 'close'), so it is intercepted, on this response only, and only after a drop.
 */
const onLateEnd = (res: WebhookResponse, then: () => void): void => {
  const end = res.end
  Object.defineProperty(res, 'end', {
    configurable: true,
    writable: true,
    value: function lateEnd(this: WebhookResponse, ...args: unknown[]): unknown {
      Reflect.deleteProperty(res, 'end')
      const result: unknown = Reflect.apply(end, this, args)
      then()
      return result
    }
  })
}

/** What a failed handler passes to `next()`: a real Error, keeping a thrown non-Error value as its `cause`. */
const asError = (reason: unknown): Error =>
  reason instanceof Error ? reason : new Error(`the webhook handler failed with ${describeValue(reason)}`, { cause: reason })

// Everything is checked from the source address, request line and headers first, so a stranger's body is never
// read. The address comes first: a refused address learns nothing else about the endpoint.
const checkHeaders = <A>(spec: PartnerSpec<A>, options: ResolvedOptions<A>, req: WebhookRequest<unknown>): E.Either<Problem, void> =>
  pipe(
    // `req.ip` runs Express's trust-proxy parsing, so it is read only when there is an allowlist to check.
    options.allowIps === undefined ? E.right(undefined) : checkSource(options.allowIps, req.ip),
    E.flatMap(() => (req.method === 'POST' ? E.right(undefined) : E.left(methodNotAllowed(req.method)))),
    E.flatMap(() => spec.authenticate(credentialHeaders(req))),
    E.flatMap(() => checkContentType(req.headers))
  )

const toRejection = (partner: string, req: WebhookRequest<unknown>, p: Problem): Rejection => ({
  partner,
  ...problemBody(p),
  method: req.method,
  path: req.originalUrl.split('?')[0] ?? '',
  ip: req.ip,
  headers: redactHeaders(req.headers)
})

/** Context of one request as it moves through the steps. */
interface Flight<A> {
  readonly req: WebhookRequest<A>
  readonly res: WebhookResponse
  readonly next: NextFunction
  readonly delivery: DeliveryKey
  readonly token: string
  readonly leaseEnds: number
  readonly report: (o: Omit<Outcome, 'partner' | 'durationMs' | 'key'>) => void
}

/**
 * The one request pipeline every partner shares: method, authentication, media type, body (read here unless a
 * body parser ran first), decode, claim the delivery, then hand over, to `options.handler` (answering 200) or to
 * `next()`, and settle the claim by the outcome.
 */
export const createWebhookMiddleware = <A>(spec: PartnerSpec<A>, options: ResolvedOptions<A>): WebhookMiddleware<A> => {
  const decode = decodeWith(spec.codec)
  const store: DeliveryStore = options.store ?? memoryStore()
  const { handler } = options

  const runHandler = async (f: Flight<A>, run: (event: A, info: DeliveryInfo) => void | Promise<void>): Promise<void> => {
    let failure: { readonly error: unknown } | undefined
    try {
      await run(f.req.body, f.res.locals.webhook)
    } catch (error) {
      failure = { error }
    }
    // A handler that answered itself decides by its status, as a `next()` route does: an answer already sent wins
    // over a later throw, because the partner acts on the answer.
    if (f.res.writableEnded) return settleByAnswer(f, f.res.statusCode, failure?.error)
    if (failure !== undefined) {
      await settle(store, f.delivery, f.token, false)
      f.report({ outcome: 'failed', status: 500, error: failure.error })
      // The app's error handler answers (5xx), and the partner retries: only a 200 counts as received. A falsy
      // reason would read as "no error" to Express, so it always gets a real Error.
      return f.next(asError(failure.error))
    }
    if (f.res.headersSent) return whenAnswered(f)
    // Recorded before answering, so a retry racing the 200 is already a duplicate.
    const error = await settle(store, f.delivery, f.token, true, f.leaseEnds)
    acknowledge(f.res, 'processed')
    f.report({ outcome: 'processed', status: f.res.statusCode, ...(error === undefined ? {} : { error }) })
  }

  // Only an answer of exactly 200 counts as handled; anything else releases the claim, so the partner's retry runs again.
  const settleByAnswer = (f: Flight<A>, status: number, failure?: unknown): void => {
    const handled = status === 200
    void settle(store, f.delivery, f.token, handled, f.leaseEnds).then((error) => {
      const cause = failure ?? error
      f.report({ outcome: handled ? 'processed' : 'failed', status, ...(cause === undefined ? {} : { error: cause }) })
    })
  }

  // The app answers (a `next()` route, or a handler that streams its own answer). The app's answer settles the claim,
  // never the connection: a partner that gave up mid-route leaves the claim held (its copies get 409), and a 200
  // written after the drop still records the delivery as done. An app that never answers leaves the lease to expire.
  const whenAnswered = (f: Flight<A>): void => {
    if (f.res.writableEnded) return settleByAnswer(f, f.res.statusCode)
    if (f.res.destroyed) return onLateEnd(f.res, () => settleByAnswer(f, f.res.statusCode))
    const onFinish = (): void => {
      f.res.off('close', onClose)
      settleByAnswer(f, f.res.statusCode)
    }
    const onClose = (): void => {
      f.res.off('finish', onFinish)
      if (f.res.writableEnded) settleByAnswer(f, f.res.statusCode)
      else onLateEnd(f.res, () => settleByAnswer(f, f.res.statusCode))
    }
    f.res.once('finish', onFinish).once('close', onClose)
  }

  const handOver = async (req: WebhookRequest<unknown>, res: WebhookResponse, next: NextFunction, started: number): Promise<void> => {
    const reporterFor = (key: string | undefined) => (o: Omit<Outcome, 'partner' | 'durationMs' | 'key'>) =>
      callHook(options.onOutcome, { partner: spec.partner, key, durationMs: performance.now() - started, ...o })
    const refuse = (p: Problem): void => {
      sendProblem(res, p)
      callHook(options.onReject, toRejection(spec.partner, req, p))
    }
    const reject = (p: Problem): void => {
      // Refused while the body may still be arriving: read no more than a little of it after the answer.
      closeAfterAnswer(req)
      refuse(p)
      reporterFor(undefined)({ outcome: 'rejected', status: p.status, type: p.type })
    }
    const gate = checkHeaders(spec, options, req)
    if (E.isLeft(gate)) return reject(gate.left)
    const event = E.flatMap(await readJsonBody(req, options.limit), decode)
    if (E.isLeft(event)) return reject(event.left)
    const delivery = spec.deliveryKey(event.right)
    const report = reporterFor(delivery.key)
    const step = await claimDelivery(store, delivery, options.leaseMs, options.staleVersions)
    if (step.kind === 'acknowledge') {
      acknowledge(res, step.outcome)
      return report({ outcome: step.outcome, status: 200 })
    }
    if (step.kind === 'refuse') {
      refuse(step.problem)
      return report({ outcome: step.outcome, status: step.problem.status, type: step.problem.type, ...(step.error === undefined ? {} : { error: step.error }) })
    }
    res.locals.webhook = { partner: spec.partner, key: delivery.key, stale: step.stale }
    const flight: Flight<A> = { req: Object.assign(req, { body: event.right }), res, next, delivery, token: step.token, leaseEnds: step.leaseEnds, report }
    if (handler !== undefined) return runHandler(flight, (e, info) => handler(e, flight.req, res, info))
    whenAnswered(flight)
    next()
  }

  const middleware = async (req: WebhookRequest<unknown>, res: WebhookResponse, next: NextFunction): Promise<void> => {
    try {
      await handOver(req, res, next, performance.now())
    } catch (err) {
      next(err)
    }
  }
  return Object.defineProperty(middleware, 'name', { value: spec.middlewareName })
}
