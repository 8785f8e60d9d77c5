import * as t from 'io-ts'
import { DateTimeFromRfc3339, PositiveInteger, SafeInteger } from '../lib/index.js'
import { BookingUpdate, bookingUpdateFixture } from '../spec/helpers/booking-partner.js'

// Partners a user defines with definePartner, for the decode benchmark: their codecs, the equivalent JSON Schemas
// for ajv, and bodies of n items.

const SAFE = { type: 'integer', minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER } as const

/** spec/helpers/booking-partner.ts's codec: one booking per body, so n items are n bodies. */
export { BookingUpdate }

/** BookingUpdate as JSON Schema. */
export const bookingSchema = {
  type: 'object',
  required: ['booking_id', 'version', 'status', 'updated_at'],
  properties: {
    booking_id: { type: 'string' },
    version: { ...SAFE, minimum: 1 },
    status: { enum: ['confirmed', 'cancelled'] },
    updated_at: { type: 'string', format: 'date-time' }
  }
} as const

/** Booking `n` (its id), as JSON text; every body the same length. */
export const bookingBody = (n: number): string => JSON.stringify({ ...bookingUpdateFixture(), booking_id: `BK-${String(n).padStart(8, '0')}` })

interface SkuBrand {
  readonly Sku: unique symbol
}

// A user-style batch codec: t.type (unknown keys pass through), t.partial, t.union, t.array, a brand, intersection.
const Sku = t.brand(t.string, (s): s is t.Branded<string, SkuBrand> => s.length >= 1 && s.length <= 32, 'Sku')
const StockLine = t.intersection(
  [
    t.type({ sku: Sku, qty: PositiveInteger, price: t.union([SafeInteger, t.null]) }),
    t.partial({ note: t.string, counted_at: DateTimeFromRfc3339 })
  ],
  'StockLine'
)
/** A stock count: one body with n lines. */
export const StockCount = t.type(
  { count_id: t.string, source: t.union([t.literal('store'), t.literal('warehouse')]), lines: t.array(StockLine) },
  'StockCount'
)

/** StockCount as JSON Schema (for ASCII SKUs `maxLength` counts as `s.length` does). */
export const stockCountSchema = {
  type: 'object',
  required: ['count_id', 'source', 'lines'],
  properties: {
    count_id: { type: 'string' },
    source: { enum: ['store', 'warehouse'] },
    lines: {
      type: 'array',
      items: {
        type: 'object',
        required: ['sku', 'qty', 'price'],
        properties: {
          sku: { type: 'string', minLength: 1, maxLength: 32 },
          qty: { ...SAFE, minimum: 1 },
          price: { anyOf: [SAFE, { type: 'null' }] },
          note: { type: 'string' },
          counted_at: { type: 'string', format: 'date-time' }
        }
      }
    }
  }
} as const

/** A stock count of `items` lines: even lines carry a note, odd ones a count time. */
export const stockCountBody = (items: number): string =>
  JSON.stringify({
    count_id: 'SC-2026-12-02',
    source: 'warehouse',
    lines: Array.from({ length: items }, (_, i) => ({
      sku: `SKU-${String(i).padStart(6, '0')}`,
      qty: 1 + (i % 50),
      price: i % 7 === 0 ? null : 1_000 + i,
      ...(i % 2 === 0 ? { note: 'shelf B' } : { counted_at: '2026-12-02T08:15:00.250+01:00' })
    }))
  })
