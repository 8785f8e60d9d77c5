import type { NextFunction } from 'express'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { decodeWith, describeValue } from './decode.js'
import type { DeliveryKey } from './delivery.js'
import { claimDelivery, complete, release, type ClaimStep, type HeldClaim } from './exactly-once.js'
import { handOffDelivery, type HandOff } from './hand-off.js'
import { callHook } from './hooks.js'
import { andThen, isThenable, type Later } from './later.js'
import { checkSource } from './ip-allowlist.js'
import { bodyAlreadyParsed, methodNotAllowed, problemBody, sendProblem, shuttingDown, type Problem } from './problem.js'
import { checkContentType, closeAfterAnswer, parseBody, readBody, type ReceivedBody } from './read-body.js'
import { redactHeaders } from './redact.js'
import type { InFlight } from './shutdown.js'
import type { DeliveryRecord } from './telemetry.js'
import { acknowledge } from './respond.js'
import type { Outcome, PartnerSpec, Rejection, ResolvedOptions, WebhookHandler, WebhookMiddleware, WebhookRequest, WebhookResponse } from './types.js'

// Node keeps only the first of several Authorization lines (RFC 9110 makes it a singleton field), so `Basic <valid>`
// followed by `Basic <other>` passed on the first alone, while a proxy in front may have read the last. Joined like a
// list header (as Node already joins repeated X-API-Key lines), the copies no longer parse as one credential.
// Counted in rawHeaders first: `headersDistinct` builds an array for every header of the request on first use.
const credentialHeaders = (req: WebhookRequest<unknown>): WebhookRequest<unknown>['headers'] => {
  let lines = 0
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]
    if (name?.length === 13 && name.toLowerCase() === 'authorization') lines++
  }
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

/** Calls `then` with the status once the app has ended the response, whether or not the partner is still there. */
const whenAnswered = (res: WebhookResponse, then: (status: number) => void): void => {
  const answered = (): void => then(res.statusCode)
  if (res.writableEnded) return answered()
  if (res.destroyed) return onLateEnd(res, answered)
  const onFinish = (): void => {
    res.off('close', onClose)
    answered()
  }
  const onClose = (): void => {
    res.off('finish', onFinish)
    if (res.writableEnded) answered()
    else onLateEnd(res, answered)
  }
  res.once('finish', onFinish).once('close', onClose)
}

const noop = (): void => undefined
/** Milliseconds since `start` (a `performance.now()`), to the microsecond. */
const sinceMs = (start: number): number => Math.round((performance.now() - start) * 1000) / 1000

/** What a failed handler passes to `next()`: a real Error, keeping a thrown non-Error value as its `cause`. */
const asError = (reason: unknown): Error =>
  reason instanceof Error ? reason : new Error(`the webhook handler failed with ${describeValue(reason)}`, { cause: reason })

/** The problem of a failed check, if it failed. */
const problemOf = (checked: E.Either<Problem, unknown>): Problem | undefined => (E.isLeft(checked) ? checked.left : undefined)

type Report = (o: Omit<Outcome, 'partner' | 'durationMs' | 'key'>) => void

/** An error as plain data, for `JSON.stringify`: an Error's own fields are not enumerable, so it would render as `{}`. */
const errorData = (err: unknown, depth = 0): unknown => {
  if (!(err instanceof Error)) return typeof err === 'bigint' || typeof err === 'symbol' || typeof err === 'function' ? String(err) : err
  const cause = depth < 3 && err.cause !== undefined ? { cause: errorData(err.cause, depth + 1) } : {}
  return { name: err.name, message: err.message, stack: err.stack, ...cause }
}

/** An outcome for the hook: `durationMs` to the microsecond, and a `toJSON` that keeps the error readable. */
const outcomeOf = (o: Outcome): Outcome =>
  Object.defineProperty(o, 'toJSON', { value: () => ({ ...o, ...(o.error === undefined ? {} : { error: errorData(o.error) }) }) })

/**
 * Puts the decoded event in `req.body`, after which `req` is typed by it (no cast). The store itself costs about 3 µs
 * per request on Express's request object (bench/RESULTS.md), with `Object.assign` or without.
 */
function putBody<A>(req: WebhookRequest<unknown>, event: A): asserts req is WebhookRequest<A> {
  req.body = event
}

/** One request, from its arrival. */
interface Arrival {
  readonly req: WebhookRequest<unknown>
  readonly res: WebhookResponse
  readonly next: NextFunction
  readonly started: number
  /** The telemetry record, when the `telemetry` option is set. */
  readonly record: DeliveryRecord | undefined
}

/** One claimed delivery on its way to the app. */
interface Claimed<A> {
  readonly req: WebhookRequest<A>
  readonly res: WebhookResponse
  readonly next: NextFunction
  readonly claim: HeldClaim
  readonly report: Report | undefined
  /** Unregisters the delivery from the shutdown tracker once settled. */
  readonly leave: () => void
  readonly record: DeliveryRecord | undefined
}

/**
 * The one request pipeline every partner shares, in five steps: check the request (address, method, credentials,
 * media type), read the event (body, signature, JSON, decode), claim the delivery, deliver it (to `handler`, answered
 * 200, or to the route through `next()`), and settle the claim by the app's answer: complete it or release it.
 *
 * Every step that can answer at once does (see `later.ts`): with the memory store and a handler that returns no
 * promise, a request runs from its complete body to its 200 in one go.
 */
export const createWebhookMiddleware = <A>(spec: PartnerSpec<A>, options: ResolvedOptions<A>): WebhookMiddleware<A> => {
  const decode = decodeWith(spec.codec)
  const { store, handler, logger, telemetry, onOutcome, onReject } = options
  const closing = (): boolean => options.shutdown?.closing === true
  // Without a hook or telemetry, no outcome is ever built.
  const silent = onOutcome === undefined && telemetry === undefined

  // Everything here is decided from the source address, request line and headers, so a stranger's body is never
  // read. The address comes first: a refused address learns nothing else about the endpoint.
  const checkRequest = (req: WebhookRequest<unknown>): Problem | undefined =>
    // `req.ip` runs Express's trust-proxy parsing, so it is read only when there is an allowlist to check.
    (options.allowIps === undefined ? undefined : problemOf(checkSource(options.allowIps, req.ip))) ??
    (req.method === 'POST' ? undefined : methodNotAllowed(req.method)) ??
    problemOf(spec.verifier.checkHeaders(credentialHeaders(req))) ??
    problemOf(checkContentType(req.headers))

  // A scheme that signs the body checks the bytes as received; a value a body parser made of them cannot be checked.
  const checkSignature = (req: WebhookRequest<unknown>, body: ReceivedBody): Problem | undefined => {
    const { checkBody } = spec.verifier
    if (checkBody === undefined) return undefined
    if ('parsed' in body) return bodyAlreadyParsed()
    return problemOf(checkBody(typeof body.bytes === 'string' ? Buffer.from(body.bytes, 'utf8') : body.bytes, req.headers))
  }

  // A body parser mounted before the route reads every stranger's body before authentication (its 400 and 413 pages
  // answer them, not our 401): said once per middleware, so the app can move the route ahead of the parser.
  let parserWarned = false
  const warnParsedEarly = (req: WebhookRequest<unknown>): void => {
    if (parserWarned || !req.readableEnded) return
    parserWarned = true
    logger.warn(
      { partner: spec.partner, path: req.originalUrl.split('?')[0] },
      'a body parser read this webhook before its middleware, so bodies are parsed before authentication: mount webhook routes before express.json()'
    )
  }

  /** The event decoded, with its wire form (the body as parsed) and its bytes as received (for a hand-off job). */
  interface Received {
    readonly event: A
    readonly wire: unknown
    readonly body: ReceivedBody
  }

  const readEvent = (req: WebhookRequest<unknown>, body: ReceivedBody): E.Either<Problem, Received> => {
    const unsigned = checkSignature(req, body)
    if (unsigned !== undefined) return E.left(unsigned)
    const wire = parseBody(body)
    if (E.isLeft(wire)) return wire
    const event = decode(wire.right)
    return E.isLeft(event) ? event : E.right({ event: event.right, wire: wire.right, body })
  }

  // Undefined without a hook or telemetry: `report?.(...)` then builds no outcome at all.
  const reporter = (a: Arrival, key: string | undefined): Report | undefined => {
    if (silent) return undefined
    return (o) => {
      const outcome = outcomeOf({ partner: spec.partner, key, durationMs: sinceMs(a.started), ...o })
      try {
        a.record?.end(outcome)
      } catch (err) {
        logger.error({ err }, 'the telemetry record of a webhook could not be closed')
      }
      callHook(onOutcome, outcome, logger, 'onOutcome hook')
    }
  }

  const toRejection = (req: WebhookRequest<unknown>, p: Problem): Rejection => ({
    partner: spec.partner,
    ...problemBody(p),
    method: req.method,
    path: req.originalUrl.split('?')[0] ?? '',
    ip: req.ip,
    headers: redactHeaders(req.headers, spec.redact)
  })

  // Answers the problem; what `onReject` received goes into the outcome too.
  const refuse = (a: Arrival, p: Problem): { readonly rejection?: Rejection } => {
    sendProblem(a.res, p)
    if (onReject === undefined && onOutcome === undefined) return {}
    const rejection = toRejection(a.req, p)
    callHook(onReject, rejection, logger, 'onReject hook')
    return { rejection }
  }

  const reject = (a: Arrival, p: Problem): void => {
    // Refused while the body may still be arriving: read no more than a little of it after the answer.
    closeAfterAnswer(a.req)
    const refused = refuse(a, p)
    reporter(a, undefined)?.({ outcome: 'rejected', status: p.status, type: p.type, ...refused })
  }

  // The decoded event's wire form, which a worker decodes with the same codec: the codec's own encoding where it has
  // one (unknown fields dropped), else the body as parsed.
  const wireOf = (received: Received): unknown => (spec.codec instanceof t.Type ? spec.codec.encode(received.event) : received.wire)

  // Hand-off mode: answer once the queue has the delivery; a worker runs the handler later.
  const deliverToQueue = async (a: Arrival, queue: HandOff, delivery: DeliveryKey, received: Received, report: Report | undefined): Promise<void> => {
    const { body } = received
    const rawBody = 'bytes' in body ? { rawBody: typeof body.bytes === 'string' ? body.bytes : Buffer.from(body.bytes).toString('utf8') } : {}
    const job = { partner: spec.partner, ...delivery, event: wireOf(received), receivedAt: Date.now(), ...rawBody }
    const step = await handOffDelivery(store, queue, options.staleVersions, delivery, job)
    if (step.kind === 'refuse') {
      const refused = refuse(a, step.problem)
      logger.error({ err: step.error, partner: spec.partner, key: delivery.key }, 'the delivery could not be queued: answered 503')
      return report?.({ outcome: 'failed', status: step.problem.status, type: step.problem.type, ...refused, ...(step.error === undefined ? {} : { error: step.error }) })
    }
    acknowledge(a.res, step.outcome)
    report?.({ outcome: step.outcome, status: 200 })
  }

  // Only an answer of exactly 200 counts as handled; anything else gives the claim back, so the partner's retry runs again.
  // Completes or releases the claim; a store error is logged and returned for the outcome.
  const settle = (d: Claimed<A>, handled: boolean): Later<unknown> =>
    andThen(handled ? complete(store, d.claim) : release(store, d.claim), (err) => {
      d.leave()
      if (err === undefined) return undefined
      if (handled) logger.error({ err, partner: spec.partner, key: d.claim.delivery.key }, 'a handled delivery could not be recorded as done; a later copy may run it again')
      else logger.warn({ err, partner: spec.partner, key: d.claim.delivery.key }, 'a claim could not be released; it will expire with its lease')
      return err
    })

  const settleByAnswer = (d: Claimed<A>, status: number, failure?: unknown, handlerMs?: number): Later<void> => {
    const handled = status === 200
    return andThen(settle(d, handled), (storeError) => {
      const error = failure ?? storeError
      const timing = handlerMs === undefined ? {} : { handlerMs }
      d.report?.({ outcome: handled ? 'processed' : 'failed', status, ...timing, ...(error === undefined ? {} : { error }) })
    })
  }

  const deliverToHandler = (d: Claimed<A>, handle: WebhookHandler<A>): Later<void> => {
    const started = performance.now()
    let result: unknown
    try {
      // In the request's telemetry context, if there is one, so the handler's own spans nest under the delivery's.
      result = d.record === undefined ? handle(d.req.body, d.req, d.res, d.res.locals.webhook) : d.record.within(() => handle(d.req.body, d.req, d.res, d.res.locals.webhook))
    } catch (error) {
      return afterHandler(d, sinceMs(started), { error })
    }
    if (!isThenable(result)) return afterHandler(d, sinceMs(started), undefined)
    return Promise.resolve(result).then(
      () => afterHandler(d, sinceMs(started), undefined),
      (error: unknown) => afterHandler(d, sinceMs(started), { error })
    )
  }

  const afterHandler = (d: Claimed<A>, handlerMs: number, failure: { readonly error: unknown } | undefined): Later<void> => {
    // A handler that answered itself decides by its status, as a route does: an answer already sent wins over a
    // later throw, because the partner acts on the answer.
    const { res } = d
    const answering = res.headersSent
    if (answering && res.writableEnded) return settleByAnswer(d, res.statusCode, failure?.error, handlerMs)
    if (failure !== undefined) {
      return andThen(settle(d, false), () => {
        d.report?.({ outcome: 'failed', status: 500, error: failure.error, handlerMs })
        // The app's error handler answers (5xx), and the partner retries: only a 200 counts as received.
        d.next(asError(failure.error))
      })
    }
    if (answering) return whenAnswered(res, (status) => void settleByAnswer(d, status, undefined, handlerMs))
    // Recorded before answering, so a retry racing the 200 is already a duplicate.
    return andThen(settle(d, true), (error) => {
      if (error !== undefined && store.transactional === true) {
        // The handler's writes were rolled back with the delivery record: a 200 would lose the event, so the partner retries.
        d.report?.({ outcome: 'failed', status: 500, handlerMs, error })
        return d.next(asError(error))
      }
      acknowledge(d.res, 'processed')
      d.report?.({ outcome: 'processed', status: d.res.statusCode, handlerMs, ...(error === undefined ? {} : { error }) })
    })
  }

  // The route's answer settles the claim, never the connection: a partner that gave up mid-route leaves the claim
  // held (its copies get 409), and a 200 written after the drop still records the delivery as done. A route that
  // never answers leaves the lease to expire.
  const deliverToRoute = (d: Claimed<A>): void => {
    const started = performance.now()
    whenAnswered(d.res, (status) => void settleByAnswer(d, status, undefined, sinceMs(started)))
    if (d.record === undefined) d.next()
    else d.record.within(() => d.next())
  }

  // What the claim decided: answer at once (duplicate, stale, busy, store down), or run the delivery.
  const afterClaim = (a: Arrival, event: A, delivery: DeliveryKey, report: Report | undefined, step: ClaimStep, flight: InFlight | undefined): Later<void> => {
    if (step.kind !== 'run') flight?.leave()
    if (step.kind === 'acknowledge') {
      acknowledge(a.res, step.outcome)
      return report?.({ outcome: step.outcome, status: 200 })
    }
    if (step.kind === 'refuse') {
      const refused = refuse(a, step.problem)
      if (step.error !== undefined) logger.error({ err: step.error, partner: spec.partner, key: delivery.key }, 'the delivery store is unreachable: answered 503')
      return report?.({ outcome: step.outcome, status: step.problem.status, type: step.problem.type, ...refused, ...(step.error === undefined ? {} : { error: step.error }) })
    }
    const { claim } = step
    a.res.locals.webhook = { partner: spec.partner, key: delivery.key, stale: claim.stale }
    if (flight !== undefined) {
      // Claimed while the process started shutting down: give it back at once rather than hold it past the exit.
      if (closing()) {
        return andThen(release(store, claim), () => {
          flight.leave()
          reject(a, shuttingDown())
        })
      }
      flight.claimed(() => release(store, claim))
    }
    const { req } = a
    putBody(req, event)
    const claimed: Claimed<A> = { req, res: a.res, next: a.next, claim, report, leave: flight?.leave ?? noop, record: a.record }
    return handler === undefined ? deliverToRoute(claimed) : deliverToHandler(claimed, handler)
  }

  const afterBody = (a: Arrival, body: E.Either<Problem, ReceivedBody>): Later<void> => {
    const received = E.isLeft(body) ? body : readEvent(a.req, body.right)
    if (E.isLeft(received)) return reject(a, received.left)
    const { event } = received.right
    const delivery = spec.deliveryKey(event, a.req)
    const report = reporter(a, delivery.key)
    if (options.handOff !== undefined) return deliverToQueue(a, options.handOff, delivery, received.right, report)
    const flight = options.shutdown?.enter()
    return andThen(claimDelivery(store, delivery, options.leaseMs, options.staleVersions), (step) => afterClaim(a, event, delivery, report, step, flight))
  }

  const receive = (a: Arrival): Later<void> => {
    // A process shutting down takes no new delivery: the partner retries, and another instance answers.
    if (closing()) return reject(a, shuttingDown())
    const problem = checkRequest(a.req)
    if (problem !== undefined) return reject(a, problem)
    warnParsedEarly(a.req)
    return andThen(readBody(a.req, options.limit), (body) => afterBody(a, body))
  }

  const middleware = (req: WebhookRequest<unknown>, res: WebhookResponse, next: NextFunction): void => {
    try {
      const done = receive({ req, res, next, started: performance.now(), record: telemetry?.start(spec.partner) })
      if (isThenable(done)) done.then(undefined, next)
    } catch (err) {
      next(err)
    }
  }
  return Object.defineProperty(middleware, 'name', { value: spec.middlewareName })
}
