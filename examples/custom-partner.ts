// Your own partners with definePartner (illustrations, not vendors' documented formats): a booking webhook with a
// bearer token, and an order webhook signed as Standard Webhooks describes. `npx tsx examples/custom-partner.ts`
// prints curl lines to try them.
import express from 'express'
import * as t from 'io-ts'
import { readFileSync } from 'node:fs'
import { bearerAuth, DateTimeFromRfc3339, definePartner, PositiveInteger, SafeInteger, standardWebhooksAuth } from '../lib/index.js'
import { partnerDelivery } from '../lib/testing/index.js'
import { isMain, serve } from './serve.js'

export const Booking = t.exact(
  t.type({
    booking_id: t.string,
    version: PositiveInteger,
    status: t.keyof({ confirmed: null, cancelled: null }),
    updated_at: DateTimeFromRfc3339
  }),
  'Booking'
)
export type Booking = t.TypeOf<typeof Booking>

export const bookingWebhook = definePartner({
  name: 'bookings',
  codec: Booking,
  auth: bearerAuth(),
  // Versions of one booking are handled in order, one at a time; an older one after a newer one is skipped.
  deliveryKey: (event) => ({ key: `bookings:${event.booking_id}:${event.version}`, scope: `bookings:${event.booking_id}`, version: event.version })
})

export const AcmeOrderEvent = t.type(
  {
    type: t.keyof({ 'order.paid': null, 'order.refunded': null }),
    timestamp: DateTimeFromRfc3339,
    data: t.type({ order_id: t.string, amount_cents: SafeInteger })
  },
  'AcmeOrderEvent'
)

// No deliveryKey: Standard Webhooks' `webhook-id` is the idempotency key.
export const acmeWebhook = definePartner({ name: 'acme', codec: AcmeOrderEvent, auth: standardWebhooksAuth() })

export const BOOKINGS_TOKEN = process.env.BOOKINGS_TOKEN ?? 'change-me-token'
// `whsec_` and base64, as the partner shows its signing secret (this one is base64 of "change-me-signing-secret").
export const ACME_SECRET = process.env.ACME_WEBHOOK_SECRET ?? 'whsec_Y2hhbmdlLW1lLXNpZ25pbmctc2VjcmV0'

export const createApp = (log: (line: string) => void = console.log) => {
  const app = express()
  app.post(
    '/webhooks/bookings',
    bookingWebhook({
      tokens: BOOKINGS_TOKEN,
      handler: async (event) => log(`booking ${event.booking_id} v${event.version} is ${event.status}`)
    })
  )
  app.post(
    '/webhooks/acme',
    acmeWebhook({
      secrets: ACME_SECRET,
      handler: async (event, _req, _res, delivery) => log(`acme ${event.type} ${event.data.order_id} (${delivery.key})`)
    })
  )
  // Any body parser for the rest of the app goes after the webhook routes: the signature covers the raw bytes.
  app.use(express.json())
  return app
}

// Signed now, as the partner would: the signature includes the time, so the line works for 5 minutes.
const signedAcmeHeaders = (): string => {
  const body = readFileSync(new URL('./payloads/acme-order.json', import.meta.url))
  const { headers } = partnerDelivery(acmeWebhook, { path: '/webhooks/acme', body, secret: ACME_SECRET, id: `msg_${Date.now()}` })
  return Object.entries(headers)
    .filter(([name]) => name.startsWith('webhook-'))
    .map(([name, value]) => `-H '${name}: ${value}'`)
    .join(' ')
}

export const banner = (port: number): string => {
  const url = `http://localhost:${port}`
  const booking = `-H 'Content-Type: application/json' --data-binary @examples/payloads/booking.json ${url}/webhooks/bookings`
  const acme = `-H 'Content-Type: application/json' --data-binary @examples/payloads/acme-order.json ${url}/webhooks/acme`
  return [
    `express-partner-webhooks custom-partner example listening on ${url}`,
    '',
    'A booking with a bearer token (expect 200):',
    `  curl -i -H 'Authorization: Bearer ${BOOKINGS_TOKEN}' ${booking}`,
    'A wrong token (expect 401):',
    `  curl -i -H 'Authorization: Bearer wrong' ${booking}`,
    '',
    'An order webhook signed with Standard Webhooks, valid for 5 minutes (expect 200):',
    `  curl -i ${signedAcmeHeaders()} ${acme}`,
    'The same without its signature (expect 401):',
    `  curl -i ${acme}`
  ].join('\n')
}

if (isMain(import.meta.url)) serve(createApp(), banner)
