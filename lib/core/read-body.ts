import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import * as E from 'fp-ts/lib/Either.js'
import type { Later } from './later.js'
import { malformed, tooLarge, unreadable, unsupportedMedia, type Problem } from './problem.js'

/**
 * Webhook bodies are JSON, sent as `Content-Type: application/json`. A charset other than
 * UTF-8 is refused rather than guessed at (RFC 8259 §8.1: JSON exchanged between systems is UTF-8).
 */
export const checkContentType = (headers: IncomingHttpHeaders): E.Either<Problem, void> => {
  const header = headers['content-type']
  if (header === undefined) return E.left(unsupportedMedia('the Content-Type header is missing; send application/json'))
  if (header !== 'application/json' && header !== 'application/json; charset=utf-8') return checkMediaType(header, headers)
  return checkEncoding(headers)
}

/** The Content-Type parsed: a media type other than JSON, or a charset other than UTF-8, is refused. */
const checkMediaType = (header: string, headers: IncomingHttpHeaders): E.Either<Problem, void> => {
  const [mediaType = '', ...params] = header.split(';')
  if (mediaType.trim().toLowerCase() !== 'application/json') {
    return E.left(unsupportedMedia('expected Content-Type application/json'))
  }
  for (const param of params) {
    const [name = '', value = ''] = param.split('=')
    const charset = value.trim().replace(/^"(.*)"$/, '$1').toLowerCase()
    if (name.trim().toLowerCase() === 'charset' && charset !== 'utf-8' && charset !== 'utf8') {
      return E.left(unsupportedMedia('only the utf-8 charset is accepted'))
    }
  }
  return checkEncoding(headers)
}

const JSON_BODY: E.Either<Problem, void> = E.right(undefined)

const checkEncoding = (headers: IncomingHttpHeaders): E.Either<Problem, void> => {
  const encoding = headers['content-encoding']?.trim().toLowerCase()
  // Compressed bodies are refused: decompressing them would let a small request expand past `limit` in memory.
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
    return E.left(unsupportedMedia('Content-Encoding is not supported; send the body uncompressed'))
  }
  return JSON_BODY
}

const NO_BYTES = Buffer.alloc(0)

/** The declared Content-Length, if it is a plain decimal number. */
const declaredLength = (req: IncomingMessage): number | undefined => {
  const declared = req.headers['content-length']
  return declared !== undefined && /^[0-9]+$/.test(declared) ? Number(declared) : undefined
}

// The body is taken at 'end', not as soon as Content-Length bytes are in: Node's parser may still refuse what follows
// them on the connection (spec/hostile: a Content-Length shorter than the body), and then its 400 is the answer.
const readStream = (req: IncomingMessage, limit: number): Promise<E.Either<Problem, Buffer>> =>
  new Promise((resolve) => {
    if (req.destroyed) {
      resolve(E.left(unreadable('the connection closed before the body was read')))
      return
    }
    // Most bodies arrive as one chunk, which is used as it is; only a body in several chunks is copied into one.
    let first: Buffer | undefined
    let more: Buffer[] | undefined
    let size = 0
    const finish = (result: E.Either<Problem, Buffer>): void => {
      req.off('data', onData).off('end', onEnd).off('error', onFailure).off('close', onFailure)
      // Past the limit we stop collecting; the rest of the stream is discarded by Node, never buffered.
      resolve(result)
    }
    const onEnd = (): void => finish(E.right(more === undefined ? (first ?? NO_BYTES) : Buffer.concat(more, size)))
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > limit) return finish(E.left(tooLarge(limit)))
      if (first === undefined) first = chunk
      else (more ??= [first]).push(chunk)
    }
    const onFailure = (): void => finish(E.left(unreadable('the connection failed before the body was complete')))
    req.on('data', onData).on('end', onEnd).on('error', onFailure).on('close', onFailure)
  })

// fatal: invalid UTF-8 is an error rather than silently becoming U+FFFD; a leading BOM is stripped.
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Bytes to a JSON value: strict UTF-8, then JSON.parse. */
export const parseJson = (bytes: Uint8Array | string): E.Either<Problem, unknown> => {
  let text: string
  try {
    text = typeof bytes === 'string' ? bytes : utf8.decode(bytes)
  } catch {
    return E.left(malformed('the body is not valid UTF-8'))
  }
  if (text.trim() === '') return E.left(malformed('the body is empty; send a JSON object'))
  try {
    const value: unknown = JSON.parse(text)
    return E.right(value)
  } catch {
    return E.left(malformed('the body is not valid JSON'))
  }
}

/** A body as it reached the middleware: its bytes, or the value a body parser mounted first made of them. */
export type ReceivedBody = { readonly bytes: Uint8Array | string } | { readonly parsed: unknown }

/**
 * The request body. If a body parser already consumed the stream (`express.json()`, `express.raw()`,
 * `express.text()`), its result is used; otherwise the stream is read here, up to `limit` bytes. A body that is
 * already complete and buffered (the app awaited something before this middleware) is taken at once.
 */
export const readBody = (req: IncomingMessage & { body?: unknown }, limit: number): Later<E.Either<Problem, ReceivedBody>> => {
  if (req.readableEnded) {
    const body = req.body
    if (Buffer.isBuffer(body) || typeof body === 'string') {
      return Buffer.byteLength(body) > limit ? E.left(tooLarge(limit)) : E.right({ bytes: body })
    }
    return body === undefined ? E.left(malformed('the body is empty; send a JSON object')) : E.right({ parsed: body })
  }
  const declared = declaredLength(req)
  // Refuse before reading when the sender announces too much (RFC 9110 §15.5.14).
  if (declared !== undefined && declared > limit) return E.left(tooLarge(limit))
  if (isBuffered(req, limit)) return takeBuffered(req)
  // A body sent in the packet of its headers is parsed right after them, in this same turn of the event loop: taken
  // at the end of the turn (setImmediate) it is read at once, which costs less than streaming it through listeners.
  // A body still arriving then (a large one, a slow sender) is streamed.
  return new Promise((resolve) => {
    setImmediate(() => resolve(isBuffered(req, limit) ? takeBuffered(req) : readStream(req, limit).then(E.map((bytes: Buffer) => ({ bytes })))))
  })
}

/** The whole body has arrived and waits, unread, in the stream's buffer (no one else is reading it). */
const isBuffered = (req: IncomingMessage, limit: number): boolean =>
  req.complete && !req.destroyed && req.readableFlowing !== true && req.readableLength <= limit

const takeBuffered = (req: IncomingMessage): E.Either<Problem, ReceivedBody> => {
  const buffered: unknown = req.read()
  return E.right({ bytes: Buffer.isBuffer(buffered) ? buffered : NO_BYTES })
}

/** The body as an unknown JSON value. */
export const parseBody = (body: ReceivedBody): E.Either<Problem, unknown> => ('parsed' in body ? E.right(body.parsed) : parseJson(body.bytes))

// How much of an unfinished body is still read after an early answer, and for how long (see `closeAfterAnswer`).
export const LINGER_MAX_BYTES = 256 * 1024
export const LINGER_MAX_MS = 2000

/**
 * For a request answered before its body was complete (refused from its headers, or past `limit`). Node drains the
 * rest of such a body to keep the connection alive, however large: a stranger's 50 MB upload was read to the end.
 * Closing at once is no better, because a sender still writing then gets a reset instead of the answer. So, as
 * RFC 9112 §9.6 advises (a staged disconnect, like nginx's lingering close), at most `LINGER_MAX_BYTES` more are
 * read and discarded, for at most `LINGER_MAX_MS`, while the answer goes out; then the connection is closed. A sender
 * that finishes within that keeps its connection. Call it before answering: reading from here on also keeps Node
 * from taking over the drain once the answer is sent.
 */
export const closeAfterAnswer = (req: IncomingMessage): void => {
  if (req.complete || req.destroyed) return
  let read = 0
  const stop = (): void => {
    clearTimeout(timer)
    req.off('data', onData).off('end', stop).off('close', stop)
  }
  const close = (): void => {
    stop()
    req.socket.destroy()
  }
  const onData = (chunk: Buffer): void => {
    read += chunk.length
    if (read > LINGER_MAX_BYTES) close()
  }
  const timer = setTimeout(close, LINGER_MAX_MS).unref()
  req.on('data', onData).once('end', stop).once('close', stop)
  req.resume()
}
