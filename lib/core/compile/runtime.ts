import { NO_MATCH } from './fast-path.js'

// io-ts's `mergeAll` (2.2.x), which the generated intersections call with their members' results.

export const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k)

export const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)

/**
 * io-ts's `mergeAll` of an intersection's results `us` over its input `base`. Members that are arrays, strings or
 * functions (for..in would visit their indices, characters or properties) give NO_MATCH, so io-ts decides them.
 */
export const merge = (base: unknown, us: ReadonlyArray<unknown>): unknown => {
  let equal = true
  let primitive = true
  for (const u of us) {
    if (u !== base) equal = false
    if (isRecord(u)) primitive = false
  }
  if (equal) return base
  if (primitive) return us[us.length - 1]
  let r: Record<string, unknown> | undefined
  const dictionary = isRecord(base) ? base : undefined
  for (const u of us) {
    if (isRecord(u)) {
      if (r === undefined) {
        // Into the empty result every key of the first record goes (for..in visits each key once).
        r = {}
        for (const k in u) r[k] = u[k]
      } else {
        for (const k in u) if (!hasOwn(r, k) || dictionary === undefined || u[k] !== dictionary[k]) r[k] = u[k]
      }
    } else if ((typeof u === 'object' && u !== null) || typeof u === 'string' || typeof u === 'function') {
      return NO_MATCH
    }
  }
  return r ?? {}
}

// ---- JSON mode (`compileJsonDecoder`, what decodeWith runs) ----
// decodeWith refuses a body with an own `__proto__` key anywhere and turns every `-0` into `0` in place before
// decoding (decode.ts: prepareJson). The JSON-mode decoder does both while it decodes. These helpers cover what its
// generated code does not read itself: values the codec keeps without looking inside (`t.unknown`, `t.UnknownRecord`,
// unknown keys a `t.type` passes through) and values it drops (keys `t.exact` strips, a tuple's extra items).

const isContainer = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null

/**
 * prepareJson's walk, answering only whether `value` is free of own `__proto__` keys; turns every `-0` below it into
 * `0` in place, as prepareJson does. Iterative: a body may nest 100 000 levels deep. Arrays are read by index, so
 * their own keys other than indices (JSON.parse makes none) are not looked at.
 */
export const walk = (value: object): boolean => {
  // The stack is made only for a value with a container inside: most values walked are flat (About You's
  // `custom_data: {}` on every item), and an array per item is garbage a large body need not make.
  let stack: object[] | undefined
  for (let v: object | undefined = value; v !== undefined; v = stack?.pop()) {
    if (Array.isArray(v)) {
      const items: unknown[] = v
      for (let i = 0; i < items.length; i++) {
        const child = items[i]
        if (child === 0) {
          if (1 / child < 0) items[i] = 0
        } else if (isContainer(child)) (stack ??= []).push(child)
      }
    } else if (isContainer(v)) {
      for (const key in v) {
        // for..in also visits inherited enumerable keys, which Object.keys (prepareJson) does not.
        if (!hasOwn(v, key)) continue
        if (key === '__proto__') return false
        const child = v[key]
        if (child === 0) {
          if (1 / child < 0) v[key] = 0
        } else if (isContainer(child)) (stack ??= []).push(child)
      }
    }
  }
  return true
}

/**
 * A key of record `o` that the codec reading `o` does not name: false if it is `__proto__`, inherited (not a JSON
 * object's, so left to the slow path), or holds a `__proto__` key below; a `-0` there becomes `0` in place.
 */
export const otherKey = (o: Record<string, unknown>, key: string): boolean => {
  if (key === '__proto__' || !hasOwn(o, key)) return false
  const x = o[key]
  if (x === 0) {
    if (1 / x < 0) o[key] = 0
    return true
  }
  return !isContainer(x) || walk(x)
}
