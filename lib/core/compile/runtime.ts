import { NO_MATCH } from './fast-path.js'

// The helpers generated decoders call on their rare paths: io-ts's `stripKeys` and `mergeAll` (2.2.x), as values,
// so the generated text stays short.

export const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k)

export const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)

/** io-ts's `stripKeys`: `o` without the own keys `props` does not name, or `o` itself when it has none. */
export const strip = (o: Record<string, unknown>, props: object): Record<string, unknown> => {
  const names = Object.getOwnPropertyNames(o)
  if (names.every((k) => hasOwn(props, k))) return o
  const r: Record<string, unknown> = {}
  for (const key of names) if (hasOwn(props, key)) r[key] = o[key]
  return r
}

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
  const r: Record<string, unknown> = {}
  const dictionary = isRecord(base) ? base : undefined
  for (const u of us) {
    if (isRecord(u)) {
      for (const k in u) if (!hasOwn(r, k) || dictionary === undefined || u[k] !== dictionary[k]) r[k] = u[k]
    } else if ((typeof u === 'object' && u !== null) || typeof u === 'string' || typeof u === 'function') {
      return NO_MATCH
    }
  }
  return r
}
