import { randomUUID } from 'node:crypto'
import { request as httpRequest, type IncomingHttpHeaders, type RequestListener } from 'node:http'
import type { AuthScheme } from '../core/auth.js'
import type { PartnerDelivery } from './simulator.js'
import { listen, urlOf } from './listen.js'

/** What the kit needs of a partner: a factory `definePartner` returned (`musementOrderItem` is one), for its scheme. */
export interface DefinedPartner<Option extends string, Secret> {
  readonly definition: { readonly auth: AuthScheme<Option, Secret> }
}

/** Options of {@link partnerDelivery}. */
export interface PartnerDeliveryOptions<Secret> {
  /** Where the app receives this partner's webhooks, e.g. `'/webhooks/musement'`. */
  readonly path: string
  /** The event as the partner sends it: an object is sent as JSON, a string or bytes as they are. */
  readonly body: unknown
  /** One secret of the partner's option (`credentials`, `apiKeys`, `tokens`, `secrets`), used to authorise it. */
  readonly secret: Secret
  /** The message id, for schemes that sign one (Standard Webhooks' `webhook-id`). Default: a random UUID. */
  readonly id?: string
  /** Seconds since the epoch, for schemes that sign the time of sending. Default: now. */
  readonly timestamp?: number
}

const bytesOf = (body: unknown): Buffer =>
  Buffer.isBuffer(body) ? body : body instanceof Uint8Array ? Buffer.from(body) : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8')

/**
 * One delivery of any defined partner, authorised as that partner would send it (its scheme signs the body or adds its
 * credential header): for {@link sendDelivery} and `simulatePartner`.
 *
 * @example
 * const delivery = partnerDelivery(musementOrderItem, { path: '/webhooks/musement', body: musementOrderItemFixture(), secret: { username: 'u', password: 'p' } })
 */
export const partnerDelivery = <Option extends string, Secret>(
  partner: DefinedPartner<Option, Secret>,
  options: PartnerDeliveryOptions<Secret>
): PartnerDelivery & { readonly body: Buffer; readonly headers: Readonly<Record<string, string>> } => {
  const body = bytesOf(options.body)
  const request = { body, id: options.id ?? randomUUID(), timestamp: options.timestamp ?? Math.floor(Date.now() / 1000) }
  const headers = { 'Content-Type': 'application/json', ...partner.definition.auth.authorize(options.secret, request) }
  return { path: options.path, body, headers }
}

/** The answer to one delivery. */
export interface DeliveryAnswer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly text: string
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  readonly json: unknown
}

const parsed = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * Sends one delivery to `target` (an Express app or other request listener, served on 127.0.0.1 for the call, or a
 * base URL) and returns the answer.
 *
 * @example
 * const answer = await sendDelivery(app, partnerDelivery(musementOrderItem, { path: '/webhooks/musement', body, secret }))
 * assert.equal(answer.status, 200)
 */
export const sendDelivery = async (target: RequestListener | string, delivery: PartnerDelivery): Promise<DeliveryAnswer> => {
  const server = typeof target === 'string' ? undefined : await listen(target)
  try {
    const url = new URL(delivery.path, server === undefined ? String(target) : urlOf(server))
    const payload = bytesOf(delivery.body)
    const headers = { 'Content-Type': 'application/json', ...delivery.headers, 'Content-Length': String(payload.length) }
    return await new Promise<DeliveryAnswer>((resolve, reject) => {
      const req = httpRequest(url, { method: 'POST', headers, agent: false }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', reject)
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: parsed(text) })
        })
      })
      req.on('error', reject)
      req.end(payload)
    })
  } finally {
    if (server !== undefined) {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}
