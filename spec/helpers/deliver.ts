import type { Express } from 'express'
import request from 'supertest'

/**
 * POSTs `body` (an object is sent as JSON, a string or Buffer byte for byte) with `headers`, in the spirit of
 * helmet's `check()`. Returns the supertest response.
 */
export const postDelivery = (
  app: Express,
  path: string,
  body: unknown,
  headers: Readonly<Record<string, string>> = {}
): Promise<request.Response> => {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body)
  return request(app)
    .post(path)
    .set({ 'Content-Type': 'application/json', ...headers })
    .send(payload)
}
