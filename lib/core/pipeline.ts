import type { NextFunction } from 'express'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { memoryStore } from '../stores/memory.js'
import { decodeWith } from './decode.js'
import type { DeliveryKey, DeliveryStore } from './delivery.js'
import { claimDelivery, settle, type DeliveryInfo } from './exactly-once.js'
import { handOffDelivery } from './hand-off.js'
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

const rawBody = (raw: Buffer | string | undefined): { rawBody?: string } => (raw === undefined ? {} : { rawBody: raw.toString() })

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
 * `next()`, and settle the claim by the outcome. In hand-off mode (`options.handOff`) the delivery goes on the queue
 * instead, and 200 answers once the queue has it.
 */
export const createWebhookMiddleware = <A>(spec: PartnerSpec<A>, options: ResolvedOptions<A>): WebhookMiddleware<A> => {
  const decode = decodeWith(spec.codec)
  const store: DeliveryStore = options.store ?? memoryStore()
  const { handler, handOff } = options

  const runHandler = async (f: Flight<A>, run: (event: A, info: DeliveryInfo) => void | Promise<void>): Promise<void> => {
    try {
      await run(f.req.body, f.res.locals.webhook)
    } catch (err) {
      await settle(store, f.delivery, f.token, false)
      f.report({ outcome: 'failed', status: 500, error: err })
      // The app's error handler answers (5xx), and the partner retries: only a 200 counts as received.
      return f.next(err)
    }
    // A handler that answered itself decides by its status, as a `next()` route does.
    if (f.res.headersSent) return settleWhenAnswered(f)
    // Recorded before answering, so a retry racing the 200 is already a duplicate.
    const error = await settle(store, f.delivery, f.token, true, f.leaseEnds)
    acknowledge(f.res, 'processed')
    f.report({ outcome: 'processed', status: f.res.statusCode, ...(error === undefined ? {} : { error }) })
  }

  // The app answered (a `next()` route, or a handler that wrote the response): only a finished 200 counts as
  // handled, as it does for Musement; anything else, or a dropped connection, releases the claim.
  const settleWhenAnswered = (f: Flight<A>): void => {
    let settled = false
    const onEnd = (): void => {
      if (settled) return
      settled = true
      const handled = f.res.writableFinished && f.res.statusCode === 200
      void settle(store, f.delivery, f.token, handled, f.leaseEnds).then((error) =>
        f.report({ outcome: handled ? 'processed' : 'failed', status: f.res.statusCode, ...(error === undefined ? {} : { error }) })
      )
    }
    if (f.res.writableFinished || f.res.destroyed) onEnd()
    else f.res.once('finish', onEnd).once('close', onEnd)
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
    const body = await readJsonBody(req, options.limit)
    if (E.isLeft(body)) return reject(body.left)
    const event = decode(body.right.value)
    if (E.isLeft(event)) return reject(event.left)
    const delivery = spec.deliveryKey(event.right)
    const report = reporterFor(delivery.key)
    if (handOff !== undefined) {
      const job = { partner: spec.partner, ...delivery, event: spec.codec.encode(event.right), receivedAt: Date.now(), ...rawBody(body.right.raw) }
      const step = await handOffDelivery(store, handOff, options.staleVersions, delivery, job)
      if (step.kind === 'refuse') {
        refuse(step.problem)
        return report({ outcome: 'failed', status: step.problem.status, type: step.problem.type, error: step.error })
      }
      acknowledge(res, step.outcome)
      return report({ outcome: step.outcome, status: 200 })
    }
    const step = await claimDelivery(store, delivery, options.leaseMs, options.staleVersions)
    if (step.kind === 'acknowledge') {
      acknowledge(res, step.outcome)
      return report({ outcome: step.outcome, status: 200 })
    }
    if (step.kind === 'refuse') {
      refuse(step.problem)
      return report({ outcome: step.outcome, status: step.problem.status, type: step.problem.type })
    }
    res.locals.webhook = { partner: spec.partner, key: delivery.key, stale: step.stale }
    const flight: Flight<A> = { req: Object.assign(req, { body: event.right }), res, next, delivery, token: step.token, leaseEnds: step.leaseEnds, report }
    if (handler !== undefined) return runHandler(flight, (e, info) => handler(e, flight.req, res, info))
    settleWhenAnswered(flight)
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
