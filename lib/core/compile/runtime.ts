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
