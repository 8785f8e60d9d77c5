import fc from 'fast-check'
import * as t from 'io-ts'
import { DateTimeFromRfc3339, DateTimeFromString, DigitString, NumberFromDigitString, PositiveInteger, SafeInteger, Uuid } from '../../lib/core/codecs.js'
import { NO_MATCH, withFastPath } from '../../lib/core/compile.js'
import {
  ABOUT_YOU_EVENT_NAMES,
  aboutYouEventCodec,
  AboutYouOrderItem,
  AboutYouOrderItemsCancelled,
  AboutYouOrderItemsEvent,
  AboutYouOrderItemsReturned,
  AboutYouOrderItemsShipped,
  AboutYouShipment
} from '../../lib/partners/aboutyou/codec.js'
import { MusementOrderItem } from '../../lib/partners/musement/codec.js'

// Codecs for the compiler's agreement specs, each with an arbitrary of values it accepts, and the edits that turn
// those into near misses.

export interface Case {
  readonly codec: t.Decoder<unknown, unknown>
  /** Values the codec accepts (the spec checks that it does). */
  readonly valid: fc.Arbitrary<unknown>
}

// ---- Leaves ----

const MIN_MS = new Date(0).setUTCFullYear(0, 0, 1)
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999)
const pad = (n: number, width: number): string => String(Math.abs(n)).padStart(width, '0')

/** `ms` written as local time at `offset` minutes east, or undefined if that local year leaves 0000-9999. */
const writeDateTime = (ms: number, offset: number, zone: 'Z' | 'z' | ':' | '', tee: string, fraction: string, leap: boolean): string | undefined => {
  const local = new Date(ms + offset * 60_000)
  const year = local.getUTCFullYear()
  if (year < 0 || year > 9999) return undefined
  const z = zone === 'Z' || zone === 'z' ? zone : `${offset < 0 ? '-' : '+'}${pad(Math.trunc(offset / 60), 2)}${zone}${pad(offset % 60, 2)}`
  const date = `${pad(year, 4)}-${pad(local.getUTCMonth() + 1, 2)}-${pad(local.getUTCDate(), 2)}`
  const time = `${pad(local.getUTCHours(), 2)}:${pad(local.getUTCMinutes(), 2)}:${leap ? '60' : pad(local.getUTCSeconds(), 2)}`
  return `${date}${tee}${time}${fraction === '' ? '' : `.${fraction}`}${z}`
}

const instant = fc.integer({ min: MIN_MS + 86_400_000, max: MAX_MS - 86_400_000 })
const offset = fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 })
const defined = <T>(u: T | undefined): u is T => u !== undefined

export const isoDateTime = fc
  .tuple(instant, offset, fc.constantFrom<'Z' | ':' | ''>('Z', ':', ''), fc.stringMatching(/^[0-9]{0,9}$/))
  .map(([ms, off, zone, fraction]) => writeDateTime(ms, zone === 'Z' ? 0 : off, zone, 'T', fraction, false))
  .filter(defined)

export const rfc3339DateTime = fc
  .tuple(instant, offset, fc.constantFrom<'Z' | 'z' | ':'>('Z', 'z', ':'), fc.constantFrom('T', 't'), fc.stringMatching(/^[0-9]{0,12}$/), fc.boolean())
  .map(([ms, off, zone, tee, fraction, leap]) => {
    // A leap second exists only at 23:59:60 UTC: move the instant to 23:59 UTC and write its second as 60.
    const at = leap ? Math.floor(ms / 86_400_000) * 86_400_000 + 86_340_000 : ms
    return writeDateTime(at, zone === ':' ? off : 0, zone, tee, fraction, leap)
  })
  .filter(defined)

const digitString = (max: bigint) => fc.tuple(fc.bigInt({ min: 0n, max }), fc.nat({ max: 3 })).map(([n, zeros]) => '0'.repeat(zeros) + n.toString())
const uuid = fc.stringMatching(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/)
const safeInteger = fc.oneof(fc.maxSafeInteger(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER))
const positiveInteger = fc.maxSafeNat().map((n) => Math.max(1, n))
const nullable = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null })

// ---- Partner bodies ----

const musementStatus = fc.constantFrom('CANCELLATION_ERROR', 'KO', 'OK', 'PENDING', 'REFUND_STARTED', 'REFUNDED')
const musement = fc.record({
  order_id: fc.stringMatching(/^[0-9]{1,24}$/),
  order_uuid: uuid,
  order_created: isoDateTime,
  order_updated: isoDateTime,
  order_version: digitString(BigInt(Number.MAX_SAFE_INTEGER)),
  order_item_uuid: uuid,
  order_item_created: isoDateTime,
  order_item_updated: isoDateTime,
  order_item_version: digitString(BigInt(Number.MAX_SAFE_INTEGER)),
  order_item_status: musementStatus
})

const aboutYouItem = fc.record(
  {
    sku: fc.string({ maxLength: 20 }),
    status: fc.constantFrom('open', 'shipped', 'cancelled', 'returned'),
    price_without_tax: safeInteger,
    price_with_tax: safeInteger,
    shipment_tracking_key: nullable(fc.string({ maxLength: 20 })),
    return_tracking_key: nullable(fc.string({ maxLength: 20 })),
    vat: fc.double({ noNaN: true, noDefaultInfinity: true }),
    id: nullable(safeInteger),
    custom_data: nullable(fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3, noNullPrototype: true }))
  },
  { requiredKeys: ['sku', 'status', 'price_without_tax', 'price_with_tax', 'shipment_tracking_key', 'return_tracking_key'] }
)
// maxLength 255 counts code points: up to 255 of any kind, and exactly 255 astral ones (510 UTF-16 units).
const astral = (minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom('\u{1F600}', '\u{1D11E}', 'a'), minLength, maxLength })
const trackingKey = nullable(fc.oneof(fc.string({ unit: 'binary', maxLength: 255 }), astral(255, 255)))
const shipment = fc.record(
  { items: fc.array(aboutYouItem, { maxLength: 3 }), carrier_key: fc.string({ maxLength: 10 }), tracking_key: trackingKey, return_tracking_key: trackingKey },
  { requiredKeys: ['items', 'carrier_key'] }
)
const envelope = (events: ReadonlyArray<string>) =>
  fc.record(
    { id: positiveInteger, event: fc.constantFrom(...events), message: shipment, timestamp: rfc3339DateTime, subscription_id: nullable(positiveInteger) },
    { requiredKeys: ['id', 'event', 'message'] }
  )

// ---- Codecs in the style of this package's users ----

interface PositiveBrand {
  readonly Positive: unique symbol
}
const Positive = t.brand(t.number, (n): n is t.Branded<number, PositiveBrand> => n > 0, 'Positive')
const Short = t.refinement(t.string, (s) => s.length <= 3, 'Short')
// `constructor` is inherited by every string-keyed lookup: keyof must find it as an own key only.
const Kind = t.keyof({ a: null, b: null, constructor: null }, 'Kind')
const Status = t.union([t.literal('new'), t.literal('done'), t.literal(0), t.literal(false), t.null], 'Status')

const Line = t.exact(
  t.intersection([
    // A missing `note` decodes to an own `note: undefined`: io-ts copies the object for it.
    t.type({ sku: Short, qty: Positive, at: DateTimeFromString, note: t.union([t.string, t.undefined]) }),
    t.partial({ tags: t.readonlyArray(Kind), version: NumberFromDigitString, extra: t.unknown })
  ]),
  'Line'
)
const line = fc.record(
  {
    sku: fc.string({ maxLength: 3 }),
    qty: fc.double({ min: Number.MIN_VALUE, noNaN: true }),
    at: isoDateTime,
    note: fc.string({ maxLength: 4 }),
    tags: fc.array(fc.constantFrom('a', 'b', 'constructor')),
    version: digitString(999n),
    extra: fc.jsonValue({ maxDepth: 1 })
  },
  { requiredKeys: ['sku', 'qty', 'at'] }
)

const Order = t.strict(
  {
    id: Uuid,
    lines: t.array(Line),
    status: Status,
    meta: t.readonly(t.partial({ by: t.string, seen: t.boolean, n: PositiveInteger })),
    pair: t.tuple([t.number, DateTimeFromRfc3339])
  },
  'Order'
)
const order = fc.record({
  id: uuid,
  lines: fc.array(line, { maxLength: 3 }),
  status: fc.constantFrom('new', 'done', 0, false, null),
  meta: fc.record({ by: fc.string(), seen: fc.boolean(), n: positiveInteger }, { requiredKeys: [] }),
  pair: fc.tuple(fc.double(), rfc3339DateTime)
})

// io-ts makes this a tagged union (`kind`) and tries only the member the tag names.
const Shape = t.union([t.type({ kind: t.literal('circle'), r: t.number }), t.strict({ kind: t.literal('square'), side: Positive })], 'Shape')
const shape = fc.oneof(
  fc.record({ kind: fc.constant('circle'), r: fc.double() }),
  fc.record({ kind: fc.constant('square'), side: fc.double({ min: 1, max: 1e9, noNaN: true }) })
)

// Three members, none exact, two that decode something: io-ts merges the results key by key.
const Merged = t.intersection([t.type({ a: t.number }), t.partial({ b: DateTimeFromRfc3339 }), t.type({ c: t.union([t.null, NumberFromDigitString]) })], 'Merged')
const merged = fc.record({ a: fc.double(), b: rfc3339DateTime, c: nullable(digitString(10n ** 12n)) }, { requiredKeys: ['a', 'c'] })

const Dict = t.record(t.string, t.union([t.number, DateTimeFromString]), 'Dict')
const dict = fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.double(), isoDateTime), { maxKeys: 4, noNullPrototype: true })
// A finite domain: io-ts decodes it as `t.strict` with one prop per key.
const Flags = t.record(t.keyof({ x: null, y: null }), t.boolean, 'Flags')
const flags = fc.record({ x: fc.boolean(), y: fc.boolean() })

interface Tree {
  readonly value: number
  readonly children: ReadonlyArray<Tree>
}
const Tree: t.Type<Tree> = t.recursion('Tree', (self) => t.type({ value: t.number, children: t.readonlyArray(self) }))
const treeOf = (depth: number): fc.Arbitrary<Tree> =>
  fc.record({ value: fc.double(), children: depth === 0 ? fc.constant([]) : fc.array(treeOf(depth - 1), { maxLength: 2 }) })
const tree = treeOf(3)

// A custom codec without a fast path (the compiler calls its validate) next to one with a declared fast path.
const isHex = (u: unknown): u is string => typeof u === 'string' && /^[0-9a-f]{1,8}$/.test(u)
const HexNumber = new t.Type<number, string, unknown>('HexNumber', (u): u is number => typeof u === 'number', (u, c) => (isHex(u) ? t.success(parseInt(u, 16)) : t.failure(u, c)), (n) => n.toString(16))
const Percent = withFastPath(
  new t.Type<number, number, unknown>(
    'Percent (default 50)',
    (u): u is number => typeof u === 'number',
    (u, c) => (u === undefined ? t.success(50) : typeof u === 'number' && u >= 0 && u <= 100 ? t.success(u) : t.failure(u, c)),
    t.identity
  ),
  (u) => (u === undefined ? 50 : typeof u === 'number' && u >= 0 && u <= 100 ? u : NO_MATCH)
)
const Custom = t.exact(t.type({ hex: HexNumber, share: Percent, when: t.union([DateTimeFromString, t.null]) }), 'Custom')
const custom = fc.record(
  { hex: fc.stringMatching(/^[0-9a-f]{1,8}$/), share: fc.double({ min: 0, max: 100, noNaN: true }), when: nullable(isoDateTime) },
  { requiredKeys: ['hex', 'when'] }
)

// Intersections of primitives: io-ts's mergeAll keeps the input where no member changes it, else the last result.
const Whole = t.intersection([t.number, SafeInteger], 'Whole')
const Digits = t.intersection([DigitString, NumberFromDigitString, t.string], 'Digits')

// Members that overlap: the first that decodes wins.
const Overlapping = t.union([NumberFromDigitString, DigitString, t.string, t.number], 'Overlapping')

export const CODEC_CASES: ReadonlyArray<readonly [string, Case]> = [
  ['DigitString', { codec: DigitString, valid: fc.stringMatching(/^[0-9]{1,25}$/) }],
  ['NumberFromDigitString', { codec: NumberFromDigitString, valid: digitString(BigInt(Number.MAX_SAFE_INTEGER)) }],
  ['Uuid', { codec: Uuid, valid: uuid }],
  ['SafeInteger', { codec: SafeInteger, valid: safeInteger }],
  ['PositiveInteger', { codec: PositiveInteger, valid: positiveInteger }],
  ['DateTimeFromString', { codec: DateTimeFromString, valid: isoDateTime }],
  ['DateTimeFromRfc3339', { codec: DateTimeFromRfc3339, valid: rfc3339DateTime }]
]

export const PARTNER_CASES: ReadonlyArray<readonly [string, Case]> = [
  ['MusementOrderItem', { codec: MusementOrderItem, valid: musement }],
  ['AboutYouOrderItem', { codec: AboutYouOrderItem, valid: aboutYouItem }],
  ['AboutYouShipment', { codec: AboutYouShipment, valid: shipment }],
  ['AboutYouOrderItemsShipped', { codec: AboutYouOrderItemsShipped, valid: envelope(['order_items.shipped']) }],
  ['AboutYouOrderItemsCancelled', { codec: AboutYouOrderItemsCancelled, valid: envelope(['order_items.cancelled']) }],
  ['AboutYouOrderItemsReturned', { codec: AboutYouOrderItemsReturned, valid: envelope(['order_items.returned']) }],
  ['AboutYouOrderItemsEvent (union)', { codec: AboutYouOrderItemsEvent, valid: envelope(ABOUT_YOU_EVENT_NAMES) }],
  ['aboutYouEventCodec(all three)', { codec: aboutYouEventCodec(ABOUT_YOU_EVENT_NAMES), valid: envelope(ABOUT_YOU_EVENT_NAMES) }],
  ["aboutYouEventCodec(['order_items.shipped'])", { codec: aboutYouEventCodec(['order_items.shipped']), valid: envelope(['order_items.shipped']) }]
]

export const USER_CASES: ReadonlyArray<readonly [string, Case]> = [
  ['union of literals and null', { codec: Status, valid: fc.constantFrom('new', 'done', 0, false, null) }],
  ['keyof', { codec: Kind, valid: fc.constantFrom('a', 'b', 'constructor') }],
  ['brand', { codec: Positive, valid: fc.double({ min: Number.MIN_VALUE, noNaN: true }) }],
  ['exact intersection of type and partial, with refinements', { codec: Line, valid: line }],
  ['strict, nested arrays, readonly partial, tuple', { codec: Order, valid: order }],
  ['tagged union', { codec: Shape, valid: shape }],
  ['intersection of three, merged', { codec: Merged, valid: merged }],
  ['record over strings', { codec: Dict, valid: dict }],
  ['record over a keyof', { codec: Flags, valid: flags }],
  ['recursion', { codec: Tree, valid: tree }],
  ['custom codecs, with and without a fast path', { codec: Custom, valid: custom }],
  ['intersection of primitives', { codec: Whole, valid: safeInteger }],
  ['intersection of primitives that decode', { codec: Digits, valid: digitString(BigInt(Number.MAX_SAFE_INTEGER)) }],
  ['union of overlapping members', { codec: Overlapping, valid: fc.oneof(digitString(10n ** 20n), fc.string(), fc.double()) }]
]

// ---- Near misses ----

type Path = ReadonlyArray<string | number>
const REMOVE = Symbol('remove')

const isObject = (u: unknown): u is object => typeof u === 'object' && u !== null && !(u instanceof Date)

/** Every path into `value`, the root included. */
export const pathsOf = (value: unknown, path: Path = []): Path[] =>
  isObject(value) ? [path, ...Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...path, Array.isArray(value) ? Number(k) : k]))] : [path]

/** A copy of `root` with the value at `path` replaced, or removed with REMOVE. Keys are defined, never assigned. */
const setAt = (root: unknown, path: Path, value: unknown): unknown => {
  const [head, ...rest] = path
  if (head === undefined) return value
  if (!isObject(root)) return root
  if (Array.isArray(root)) {
    const items: unknown[] = root
    if (rest.length === 0 && value === REMOVE) return items.filter((_, i) => i !== head)
    return items.map((item, i) => (i === head ? setAt(item, rest, value) : item))
  }
  const key = String(head)
  const entries = Object.entries(root)
  if (rest.length === 0 && value === REMOVE) return Object.fromEntries(entries.filter(([k]) => k !== key))
  const at = entries.findIndex(([k]) => k === key)
  if (at < 0) return Object.fromEntries([...entries, [key, setAt(undefined, rest, value)]])
  return Object.fromEntries(entries.map(([k, v]) => (k === key ? [k, setAt(v, rest, value)] : [k, v])))
}

const nearValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(0, -0, 1, -1, 1.5, 2 ** 53, Infinity, -Infinity, NaN, null, true, false, undefined, '', [], {}, new Date(0)),
  fc.constantFrom('new', 'done', 'a', 'constructor', 'toString', 'circle', 'square', 'OK', 'open', '', '0', '9007199254740991', '9007199254740992'),
  fc.constantFrom('order_items.shipped', 'order_items.cancelled', 'order_items.returned', 'order_items.unknown'),
  fc.stringMatching(/^[0-9]{1,20}$/),
  isoDateTime,
  rfc3339DateTime,
  uuid,
  astral(250, 260),
  fc.string({ unit: 'binary', minLength: 250, maxLength: 260 })
)
const keyName = fc.constantFrom('extra', 'constructor', 'toString', 'kind', 'event', 'id', 'note', 'vat', '0', '__proto__')

/** A valid value with one to four edits: a value replaced or removed, or a key added (`__proto__` among them). */
export const nearMiss = (valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  valid.chain((value) => {
    const edit = fc.tuple(fc.constantFrom(...pathsOf(value)), fc.constantFrom('replace', 'remove', 'add'), nearValue, keyName)
    return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) =>
      edits.reduce<unknown>((v, [path, action, near, key]) => {
        if (action === 'replace') return setAt(v, path, near)
        if (action === 'remove') return path.length === 0 ? v : setAt(v, path, REMOVE)
        return setAt(v, [...path, key], near)
      }, value)
    )
  })

/** Whether `value` holds an own `__proto__` key anywhere. */
export const hasProtoKey = (value: unknown): boolean =>
  isObject(value) && Object.entries(value).some(([k, v]) => k === '__proto__' || hasProtoKey(v))

// ---- Hostile edits: `__proto__` keys and `-0` anywhere ----

const getAt = (root: unknown, path: Path): unknown => {
  let v = root
  for (const key of path) v = isObject(v) ? Object.entries(v).find(([k]) => k === String(key))?.[1] : undefined
  return v
}

/** A copy of `value` with every `0` turned into `-0`. */
const negateZeros = (value: unknown): unknown =>
  value === 0
    ? -0
    : Array.isArray(value)
      ? value.map(negateZeros)
      : isObject(value)
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, negateZeros(v)]))
        : value

// Values to hide things in, parsed from JSON text so each is a fresh object with own `__proto__` keys as JSON.parse
// makes them (`-0` parses to -0).
const hiding = fc
  .constantFrom(
    '{"__proto__":1}',
    '{"__proto__":{"isAdmin":true}}',
    '{"a":{"__proto__":{"x":1}}}',
    '[{"__proto__":null}]',
    '[1,[2,{"b":{"__proto__":[]}}]]',
    '-0',
    '[-0]',
    '{"z":-0}',
    '{"a":[1,{"b":-0}],"c":{"d":{"e":-0}}}',
    '{"__proto__":-0,"y":-0}',
    '{"ok":true,"n":0}'
  )
  .map((text): unknown => JSON.parse(text))

type Hostile = readonly ['proto' | 'extra' | 'zero' | 'append', Path, unknown]

/**
 * A value (valid, or a near miss) with one to three hostile edits: an own `__proto__` key added to an object, an
 * unknown key whose value hides a `__proto__` key or a `-0`, a value replaced by `-0`, or an item appended to an
 * array; and sometimes every `0` in it turned into `-0`. Covers the parts a codec keeps, reads, passes through
 * unread and drops.
 */
export const hostile = (valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  fc
    .oneof({ arbitrary: valid, weight: 2 }, { arbitrary: nearMiss(valid), weight: 1 })
    .chain((value) => {
      const paths = pathsOf(value)
      const objects = paths.filter((p) => { const v = getAt(value, p); return isObject(v) && !Array.isArray(v) })
      const arrays = paths.filter((p) => Array.isArray(getAt(value, p)))
      const edits: Array<fc.Arbitrary<Hostile>> = [fc.tuple(fc.constant('zero' as const), fc.constantFrom(...paths), fc.constant(-0))]
      if (objects.length > 0) {
        edits.push(fc.tuple(fc.constant('proto' as const), fc.constantFrom(...objects), hiding))
        edits.push(fc.tuple(fc.constant('extra' as const), fc.constantFrom(...objects), hiding))
      }
      if (arrays.length > 0) edits.push(fc.tuple(fc.constant('append' as const), fc.constantFrom(...arrays), hiding))
      return fc.tuple(fc.array(fc.oneof(...edits), { minLength: 1, maxLength: 3 }), fc.boolean()).map(([list, negate]) =>
        list.reduce<unknown>(
          (v, [action, path, x]) => {
            if (action === 'zero') return setAt(v, path, x)
            if (action === 'proto') return setAt(v, [...path, '__proto__'], x)
            if (action === 'extra') return setAt(v, [...path, 'x_extra'], x)
            const items = getAt(v, path)
            return Array.isArray(items) ? setAt(v, path, [...items, x]) : v
          },
          negate ? negateZeros(value) : value
        )
      )
    })
