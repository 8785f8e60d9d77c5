// Your own partner with definePartner: a booking webhook that authenticates with a bearer token (an illustration,
// not a vendor's documented format). `npx tsx examples/custom-partner.ts` prints curl lines to try it.
import express from 'express'
import * as t from 'io-ts'
import { bearerAuth, DateTimeFromRfc3339, definePartner, PositiveInteger } from '../lib/index.js'
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

export const BOOKINGS_TOKEN = process.env.BOOKINGS_TOKEN ?? 'change-me-token'

export const createApp = (log: (line: string) => void = console.log) => {
  const app = express()
  app.post(
    '/webhooks/bookings',
    bookingWebhook({
      tokens: BOOKINGS_TOKEN,
      handler: async (event) => log(`booking ${event.booking_id} v${event.version} is ${event.status}`)
    })
  )
  return app
}

export const banner = (port: number): string => {
  const url = `http://localhost:${port}`
  const booking = `-H 'Content-Type: application/json' --data-binary @examples/payloads/booking.json ${url}/webhooks/bookings`
  return [
    `express-partner-webhooks custom-partner example listening on ${url}`,
    '',
    'A booking with a bearer token (expect 200):',
    `  curl -i -H 'Authorization: Bearer ${BOOKINGS_TOKEN}' ${booking}`,
    'A wrong token (expect 401):',
    `  curl -i -H 'Authorization: Bearer wrong' ${booking}`
  ].join('\n')
}

if (isMain(import.meta.url)) serve(createApp(), banner)
