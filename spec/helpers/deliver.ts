import type { Express } from 'express'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

/** What a sender sees of one delivery. */
export interface Delivered {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly text: string
}

/**
 * POSTs `body` to `app` over a real socket, in the spirit of helmet's `check()`: an object is sent as JSON, a
 * string or Buffer byte for byte (supertest would re-serialize a Buffer sent as JSON). `Content-Type` defaults to
 * `application/json`; pass `'Content-Type': ''` to send none.
 */
export const postDelivery = async (
  app: Express,
  path: string,
  body: unknown,
  headers: Readonly<Record<string, string>> = {}
): Promise<Delivered> => {
  const payload = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8')
  const chunked = Object.keys(headers).some((h) => h.toLowerCase() === 'transfer-encoding')
  const all: Record<string, string> = { 'Content-Type': 'application/json', ...(chunked ? {} : { 'Content-Length': String(payload.length) }), ...headers }
  const sent = Object.fromEntries(Object.entries(all).filter(([, v]) => v !== ''))
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  try {
    const { port } = addressOf(server.address())
    return await new Promise<Delivered>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers: sent }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }))
      })
      // The server may answer (413, 401) and close before the whole body is written; the answer is what counts.
      req.on('error', reject)
      req.end(payload)
    })
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
}

const addressOf = (address: string | AddressInfo | null): AddressInfo => {
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address')
  return address
}

const ProblemBody = t.intersection([
  t.type({ type: t.string, title: t.string, status: t.number }),
  t.partial({ detail: t.string, errors: t.array(t.type({ path: t.string, message: t.string })) })
])
export type ProblemBody = t.TypeOf<typeof ProblemBody>

/** The RFC 9457 body of a refused delivery; throws if the answer is not one. */
export const problemOf = (res: Delivered): ProblemBody => {
  const result = ProblemBody.decode(JSON.parse(res.text))
  if (E.isLeft(result)) throw new Error(`not a problem body: ${res.text}`)
  return result.right
}

/** The JSON body of an answer as an unknown value. */
export const jsonOf = (res: Delivered): unknown => JSON.parse(res.text)
