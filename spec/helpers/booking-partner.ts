import * as t from 'io-ts'
// Through the public entry point only, as a user defining a partner would.
import { bearerAuth, DateTimeFromRfc3339, definePartner, PositiveInteger } from '../../lib/index.js'

// A partner defined from scratch with definePartner, for specs that run over every partner (spec/hostile): a booking
// webhook with a bearer token and its own codec. An illustration, not a vendor's documented format.

export const BookingStatus = t.keyof({ confirmed: null, cancelled: null }, 'BookingStatus')

export const BookingUpdate = t.exact(
  t.type({ booking_id: t.string, version: PositiveInteger, status: BookingStatus, updated_at: DateTimeFromRfc3339 }),
  'BookingUpdate'
)
export type BookingUpdate = t.TypeOf<typeof BookingUpdate>

export const bookingUpdate = definePartner({
  name: 'booking',
  factory: 'bookingUpdate',
  codec: BookingUpdate,
  auth: bearerAuth(),
  // Versions of one booking are handled one at a time, in order; an older one after a newer one is stale.
  deliveryKey: (event) => ({ key: `booking:${event.booking_id}:${event.version}`, scope: `booking:${event.booking_id}`, version: event.version })
})

/** A valid wire body (a fresh object on every call). */
export const bookingUpdateFixture = (): Record<string, unknown> => ({
  booking_id: 'BK-2026-0001',
  version: 3,
  status: 'confirmed',
  updated_at: '2026-12-01T10:00:00.250+01:00'
})
