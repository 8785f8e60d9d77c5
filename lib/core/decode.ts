import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { invalidPayload, type FieldProblem, type Problem } from './problem.js'

/** At most this many located problems go into a 400 answer, so a huge bad body gets a small reply. */
export const MAX_LISTED_ERRORS = 10

const escapePointer = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1')

// Union and intersection members add an index to the io-ts context that is not a location in the JSON document.
const isCombinator = (type: t.Decoder<unknown, unknown> | undefined): boolean =>
  type instanceof t.UnionType || type instanceof t.IntersectionType

const describe = (value: unknown): string => {
  if (value === null) return 'null'
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
    error.message ?? (error.value === undefined ? `missing; expected ${expected}` : `expected ${expected}, got ${describe(error.value)}`)
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

/** Runs `codec` on an unknown body; failures become a `webhook.payload.invalid` problem with a capped list. */
export const decodeWith =
  <A>(codec: t.Decoder<unknown, A>) =>
  (body: unknown): E.Either<Problem, A> => {
    const result = codec.decode(body)
    if (E.isRight(result)) return result
    const problems = toFieldProblems(result.left)
    return E.left(invalidPayload(problems.slice(0, MAX_LISTED_ERRORS), problems.length))
  }
