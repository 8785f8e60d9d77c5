import { deepStrictEqual } from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import {
  aboutYouOrderItemFixture,
  aboutYouOrderItemsFixture,
  apiKeyHeader,
  basicAuthHeader,
  musementOrderItemFixture
} from '../lib/testing/index.js'

// Request bodies and credentials shared by the servers, the load generator and the micro-benchmarks, so that every
// server receives the same bytes.

export const MUSEMENT_PATH = '/webhooks/musement'
/** The path of the About You OpenAPI document, so express-openapi-validator finds the operation. */
export const ABOUT_YOU_PATH = '/api/v1/webhooks/order-items-shipped'

export const MUSEMENT_CREDENTIALS = { username: 'musement', password: 'bench-password-0123456789' } as const
export const ABOUT_YOU_API_KEY = 'bench-api-key-0123456789abcdef'

export type Partner = 'musement' | 'aboutyou'
export const PARTNERS: ReadonlyArray<Partner> = ['musement', 'aboutyou']

/** The headers a partner's deliveries carry: its credentials and the JSON media type. */
export const partnerHeaders = (partner: Partner): Record<string, string> => ({
  'content-type': 'application/json',
  ...(partner === 'musement'
    ? { authorization: basicAuthHeader(MUSEMENT_CREDENTIALS.username, MUSEMENT_CREDENTIALS.password) }
    : { 'x-api-key': apiKeyHeader(ABOUT_YOU_API_KEY)['X-API-Key'] })
})

export const partnerPath = (partner: Partner): string => (partner === 'musement' ? MUSEMENT_PATH : ABOUT_YOU_PATH)

export const fixturePath = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

/** A fixture file parsed as JSON: `unknown` until a codec or a guard narrows it. */
export const readFixture = (name: string): unknown => JSON.parse(readFileSync(fixturePath(name), 'utf8'))

export const MUSEMENT_EXAMPLE = 'musement-order-item-example.json'
export const ABOUT_YOU_EXAMPLE = 'aboutyou-order-items-shipped-example.json'

// The generated bodies start from the test kit's fixtures; this proves those equal the vendors' examples.
deepStrictEqual(musementOrderItemFixture(), readFixture(MUSEMENT_EXAMPLE))
deepStrictEqual(aboutYouOrderItemsFixture('order_items.shipped'), readFixture(ABOUT_YOU_EXAMPLE))

/**
 * Compiles a JSON text with placeholders into a function of the values, so a body costs the load generator a few
 * string concatenations. Placeholders are replaced in the order they appear.
 */
const template = (json: string, placeholders: ReadonlyArray<string>): ((values: ReadonlyArray<string>) => string) => {
  const parts: string[] = []
  let rest = json
  for (const p of placeholders) {
    const at = rest.indexOf(p)
    if (at < 0) throw new Error(`placeholder ${p} not found in the body template`)
    parts.push(rest.slice(0, at))
    rest = rest.slice(at + p.length)
  }
  return (values) => {
    let out = parts[0] ?? ''
    for (let i = 1; i <= placeholders.length; i++) out += (values[i - 1] ?? '') + (parts[i] ?? rest)
    return placeholders.length === 0 ? rest : out
  }
}

// Fixed-width counters keep every body of a kind the same length, whatever the sequence number.
const UUID_TAIL = 'aaaaaaaaaaaa'
const VERSION = '999999'
const musementTemplate = template(
  JSON.stringify(musementOrderItemFixture({ order_item_uuid: `11045e18-e3ca-42e1-acb4-${UUID_TAIL}`, order_item_version: VERSION })),
  [UUID_TAIL, VERSION]
)

/**
 * The Musement example as a new event: order item `n` (its UUID's last group), at a version derived from `n`.
 * Distinct for every `n` below 2^48, and always the same length (390 bytes).
 */
export const musementBody = (n: number): string =>
  musementTemplate([n.toString(16).padStart(12, '0'), String(100_000 + (n % 900_000))])

const ID_BASE = 100_000_000
const ID_MARK = 999_999_999

/** About You's example with `items` items (each with its own item id), as a JSON text template on the message id. */
const aboutYouTemplate = (items: number) => {
  const body = aboutYouOrderItemsFixture('order_items.shipped', {
    id: ID_MARK,
    message: {
      items: Array.from({ length: items }, (_, i) => aboutYouOrderItemFixture({ id: i + 1 })),
      carrier_key: 'DHL',
      return_tracking_key: null,
      tracking_key: '00340434161094042557'
    }
  })
  return template(JSON.stringify(body), [String(ID_MARK)])
}

const aboutYouOne = aboutYouTemplate(1)

/** The About You example as a new message: id `100000000 + n` (nine digits, so always the same length). */
export const aboutYouBody = (n: number): string => aboutYouOne([String(ID_BASE + (n % (ID_MARK - ID_BASE)))])

/** An About You body with `items` order items, for the size series of the decode benchmark. */
export const aboutYouBodyWithItems = (items: number, n = 0): string => aboutYouTemplate(items)([String(ID_BASE + n)])

export const bodyFor = (partner: Partner): ((n: number) => string) => (partner === 'musement' ? musementBody : aboutYouBody)
