import type { Response } from 'express'

/** One located decode problem: a JSON Pointer (RFC 6901) into the body and what was expected there. */
export interface FieldProblem {
  readonly path: string
  readonly message: string
}

/**
 * Every way a webhook request can be refused. The tag is the problem's `type` (a relative URI reference,
 * RFC 9457 §3.1.1) and stays stable across releases, so callers can branch on it.
 */
export type ProblemType =
  | 'webhook.ip.forbidden'
  | 'webhook.method.not_allowed'
  | 'webhook.auth.missing'
  | 'webhook.auth.invalid'
  | 'webhook.media.unsupported'
  | 'webhook.body.too_large'
  | 'webhook.body.unreadable'
  | 'webhook.body.malformed'
  | 'webhook.body.already_parsed'
  | 'webhook.payload.invalid'
  | 'webhook.delivery.in_progress'
  | 'webhook.store.unavailable'
  | 'webhook.shutting_down'
  | 'webhook.queue.unavailable'

/** An RFC 9457 problem, plus the response headers it needs. */
export interface Problem {
  readonly type: ProblemType
  readonly title: string
  readonly status: number
  readonly detail?: string
  readonly errors?: ReadonlyArray<FieldProblem>
  readonly headers?: Readonly<Record<string, string>>
}

const problem = (
  type: ProblemType,
  status: number,
  title: string,
  detail?: string,
  headers?: Record<string, string>
): Problem => ({
  type,
  status,
  title,
  ...(detail === undefined ? {} : { detail }),
  ...(headers === undefined ? {} : { headers })
})

// The allowlist itself and the address as seen are left out: `onReject` has the address for the app's logs.
export const ipForbidden = (): Problem =>
  problem('webhook.ip.forbidden', 403, 'Forbidden', 'requests from this source address are not accepted')

export const methodNotAllowed = (method: string): Problem =>
  problem('webhook.method.not_allowed', 405, 'Method not allowed', `${method.slice(0, 16)} is not accepted here; send POST`, {
    Allow: 'POST'
  })

export const authMissing = (challenge: Readonly<Record<string, string>>): Problem =>
  problem('webhook.auth.missing', 401, 'Authentication required', 'no credentials were sent', { ...challenge })

export const authInvalid = (challenge: Readonly<Record<string, string>>, detail = 'the credentials were not accepted'): Problem =>
  problem('webhook.auth.invalid', 401, 'Authentication failed', detail, { ...challenge })

export const unsupportedMedia = (detail: string): Problem =>
  problem('webhook.media.unsupported', 415, 'Unsupported media type', detail)

export const tooLarge = (limit: number): Problem =>
  problem('webhook.body.too_large', 413, 'Payload too large', `the body exceeds the limit of ${limit} bytes`)

export const unreadable = (detail: string): Problem => problem('webhook.body.unreadable', 400, 'Body could not be read', detail)

export const malformed = (detail: string): Problem => problem('webhook.body.malformed', 400, 'Malformed body', detail)

// A set-up mistake, not the sender's: 500, so the partner retries once the route is mounted ahead of the parser.
export const bodyAlreadyParsed = (): Problem =>
  problem(
    'webhook.body.already_parsed',
    500,
    'Body already parsed',
    'this webhook is signed over its raw bytes, but a body parser read them first: mount the webhook route before express.json()'
  )

export const invalidPayload = (errors: ReadonlyArray<FieldProblem>, total: number): Problem => ({
  ...problem(
    'webhook.payload.invalid',
    400,
    'Invalid payload',
    total > errors.length ? `${total} problems, the first ${errors.length} listed` : total === 1 ? '1 problem' : `${total} problems`
  ),
  errors
})

/** Retry-After is in whole seconds (RFC 9110 §10.2.3); never 0, which some senders read as "now, in a loop". */
const retryAfter = (ms: number): Record<string, string> => ({ 'Retry-After': String(Math.max(1, Math.ceil(ms / 1000))) })

export const busy = (retryAfterMs: number): Problem =>
  problem(
    'webhook.delivery.in_progress',
    409,
    'Delivery in progress',
    'the same delivery is being handled by another request; retry later',
    retryAfter(retryAfterMs)
  )

// 5xx details stay generic (http-errors' `expose` rule): the cause is for the app's logs, not the sender.
export const storeUnavailable = (): Problem =>
  problem('webhook.store.unavailable', 503, 'Service unavailable', 'the delivery could not be recorded; retry later', retryAfter(5000))

export const queueUnavailable = (): Problem =>
  problem('webhook.queue.unavailable', 503, 'Service unavailable', 'the delivery could not be queued; retry later', retryAfter(5000))

export const shuttingDown = (): Problem =>
  problem('webhook.shutting_down', 503, 'Service unavailable', 'this instance is shutting down; retry later', retryAfter(5000))

/** The JSON body of a problem response: the RFC 9457 members only, never headers or request data. */
export const problemBody = (p: Problem): Omit<Problem, 'headers'> => {
  const { headers: _headers, ...body } = p
  return body
}

/** Writes `p` as `application/problem+json`. Only the pipeline calls this. */
export const sendProblem = (res: Response, p: Problem): void => {
  for (const [name, value] of Object.entries(p.headers ?? {})) res.setHeader(name, value)
  res.status(p.status)
  res.setHeader('Content-Type', 'application/problem+json; charset=utf-8')
  res.end(JSON.stringify(problemBody(p)))
}
