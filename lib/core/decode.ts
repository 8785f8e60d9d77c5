import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { compileJsonDecoder, NO_MATCH } from './compile.js'
import { invalidPayload, type FieldProblem, type Problem } from './problem.js'

/** At most this many located problems go into a 400 answer, so a huge bad body gets a small reply. */
export const MAX_LISTED_ERRORS = 10

const escapePointer = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1')

// Union and intersection members add an index to the io-ts context that is not a location in the JSON document. An
// exact codec passes its context on unchanged, so an exact intersection's members add one too.
const isCombinator = (type: t.Decoder<unknown, unknown> | undefined): boolean =>
  type instanceof t.UnionType ||
  type instanceof t.IntersectionType ||
  (type instanceof t.ExactType && type.type instanceof t.IntersectionType)

/** A short, safe rendering of a received value for a problem message: never a whole object, at most 40 characters. */
export const describeValue = (value: unknown): string => {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') return `a ${typeof value}`
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  const text = JSON.stringify(value)
  return text.length > 40 ? `${text.slice(0, 37)}...` : text
}

/** One io-ts validation error as a JSON Pointer and a sentence naming what the codec expected there. */
export const toFieldProblem = (error: t.ValidationError): FieldProblem => {
  let path = ''
  let expected = error.context[0]?.type.name ?? 'a value'
  error.context.forEach((entry, i) => {
    if (i === 0 || isCombinator(error.context[i - 1]?.type)) return
    path += `/${escapePointer(entry.key)}`
    // The first entry to reach a location names the whole type expected there (e.g. `(string | null)`).
    expected = entry.type.name
  })
  const message =
    error.message ?? (error.value === undefined ? `missing; expected ${expected}` : `expected ${expected}, got ${describeValue(error.value)}`)
  return { path, message }
}

/** Located, de-duplicated problems from io-ts errors. */
export const toFieldProblems = (errors: t.Errors): FieldProblem[] => {
  const seen = new Map<string, FieldProblem>()
  for (const error of errors) {
    const p = toFieldProblem(error)
    if (!seen.has(p.path)) seen.set(p.path, p)
  }
  return [...seen.values()]
}

interface KeyPath {
  readonly key: string
  readonly up: KeyPath | undefined
}

// Keys come from the sender here (unlike codec errors, whose paths the codec's shape bounds), so the pointer is cut
// to its ancestors within this many characters to keep the answer small.
const MAX_POINTER_LENGTH = 200

const locate = (path: KeyPath): FieldProblem => {
  const keys: string[] = []
  for (let p: KeyPath | undefined = path; p !== undefined; p = p.up) keys.push(`/${escapePointer(p.key)}`)
  let pointer = ''
  for (const key of keys.reverse()) {
    if (pointer.length + key.length > MAX_POINTER_LENGTH) return { path: pointer, message: 'the key __proto__ is not accepted (found below this path)' }
    pointer += key
  }
  return { path: pointer, message: 'the key __proto__ is not accepted' }
}

const isContainer = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null

// The path-building walk, run only once a `__proto__` key is known to be there (the rare, refused case).
const locateProto = (value: unknown): FieldProblem | undefined => {
  const stack: Array<readonly [unknown, KeyPath | undefined]> = [[value, undefined]]
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, path] = top
    if (!isContainer(v)) continue
    for (const key of Object.keys(v)) {
      if (key === '__proto__') return locate({ key, up: path })
      stack.push([v[key], { key, up: path }])
    }
  }
  return undefined
}

/**
 * Walks a parsed JSON value once, iteratively (a body may nest 100 000 levels deep), allocating nothing per value
 * but its place on the stack. Returns where the first `__proto__` key is, if there is one, and turns every `-0` into
 * `0` in place: JSON.parse keeps the sign, JSON.stringify drops it, so a `-0` that reached the handler made an event
 * that did not survive encode, send and decode unchanged (deep equality tells the zeros apart). Codecs cannot do it
 * themselves: io-ts keeps the original wherever the decoded value is `===` to it, and `-0 === 0`.
 */
export const prepareJson = (value: unknown): FieldProblem | undefined => {
  const stack: Array<Record<string, unknown>> = isContainer(value) ? [value] : []
  for (let v = stack.pop(); v !== undefined; v = stack.pop()) {
    for (const key of Object.keys(v)) {
      if (key === '__proto__') return locateProto(value)
      const child = v[key]
      if (child === 0) {
        if (Object.is(child, -0)) v[key] = 0
      } else if (isContainer(child)) stack.push(child)
    }
  }
  return undefined
}

/**
 * Runs `codec` on an unknown body (a parsed JSON value, which may be changed in place: every `-0` in it becomes `0`);
 * failures become a `webhook.payload.invalid` problem with a capped list. The codec is compiled once for JSON
 * (`compileJsonDecoder`), which decodes a valid body in one pass; io-ts itself runs only on a body the compiled
 * decoder refuses, to list the problems.
 *
 * A `__proto__` key anywhere is refused first. JSON.parse makes it an ordinary own key, but io-ts copies a partly
 * decoded object with `Object.assign` (its ES5 `__assign`), which assigns it and so sets the copy's prototype: a
 * required field missing from the body then passed the codec as an inherited value (`{"__proto__":{"order_item_status":
 * "OK"}, ...}` without its own status was handed to the handler), along with any other member of that object.
 *
 * The fast path checks `__proto__` and `-0` as it decodes (issue 16: a separate walk of the whole body cost more than
 * the decoding). Whenever it answers NO_MATCH, the slow path below is decodeWith as it was: prepareJson's walk (the
 * located `__proto__` problem, `-0` turned into `0`), then io-ts. io-ts decides the rare body the fast path declines
 * without refusing it (an object with inherited enumerable keys, never made by JSON.parse); its `Right` is what the
 * compiled decoder would have given (compileDecoder's contract), so it is returned as is.
 */
export const decodeWith = <A>(codec: t.Decoder<unknown, A>) => {
  const fast = compileJsonDecoder(codec)
  return (body: unknown): E.Either<Problem, A> => {
    const decoded = fast(body)
    if (decoded !== NO_MATCH) return E.right(decoded)
    const proto = prepareJson(body)
    if (proto !== undefined) return E.left(invalidPayload([proto], 1))
    const result = codec.decode(body)
    if (E.isRight(result)) return result
    const problems = toFieldProblems(result.left)
    return E.left(invalidPayload(problems.slice(0, MAX_LISTED_ERRORS), problems.length))
  }
}
