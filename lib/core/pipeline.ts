import type { NextFunction, Response } from 'express'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { decodeWith } from './decode.js'
import { methodNotAllowed, problemBody, sendProblem, type Problem } from './problem.js'
import { checkContentType, readJsonBody } from './read-body.js'
import type { PartnerSpec, Rejection, ResolvedOptions, WebhookMiddleware, WebhookRequest } from './types.js'

// Everything is checked from the request line and headers first, so a stranger's body is never read.
const checkHeaders = <A>(spec: PartnerSpec<A>, req: WebhookRequest<unknown>): E.Either<Problem, void> =>
  pipe(
    req.method === 'POST' ? E.right(undefined) : E.left(methodNotAllowed(req.method)),
    E.flatMap(() => spec.authenticate(req.headers)),
    E.flatMap(() => checkContentType(req.headers))
  )

const toRejection = (partner: string, req: WebhookRequest<unknown>, p: Problem): Rejection => ({
  partner,
  ...problemBody(p),
  method: req.method,
  path: req.originalUrl.split('?')[0] ?? '',
  ip: req.ip
})

/**
 * The one request pipeline every partner shares: method, authentication, media type, body (read here unless a
 * body parser ran first), decode, then hand over, to `options.handler` (answering 200) or to `next()`.
 */
export const createWebhookMiddleware = <A>(spec: PartnerSpec<A>, options: ResolvedOptions<A>): WebhookMiddleware<A> => {
  const decode = decodeWith(spec.codec)

  const reject = (req: WebhookRequest<unknown>, res: Response, p: Problem): void => {
    options.onReject?.(toRejection(spec.partner, req, p))
    sendProblem(res, p)
  }

  const handOver = async (req: WebhookRequest<A>, res: Response, next: NextFunction): Promise<void> => {
    if (options.handler === undefined) return next()
    try {
      await options.handler(req.body, req, res)
    } catch (err) {
      // The app's error handler answers (5xx), and the partner retries: only a 200 counts as received.
      return next(err)
    }
    if (!res.headersSent) res.status(200).json({ status: 'processed' })
  }

  const middleware = async (req: WebhookRequest<unknown>, res: Response, next: NextFunction): Promise<void> => {
    try {
      const gate = checkHeaders(spec, req)
      if (E.isLeft(gate)) return reject(req, res, gate.left)
      const event = E.flatMap(await readJsonBody(req, options.limit), decode)
      if (E.isLeft(event)) return reject(req, res, event.left)
      const accepted: WebhookRequest<A> = Object.assign(req, { body: event.right })
      await handOver(accepted, res, next)
    } catch (err) {
      next(err)
    }
  }
  return Object.defineProperty(middleware, 'name', { value: spec.middlewareName })
}
