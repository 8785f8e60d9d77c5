import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import * as emit from './compile/emit.js'
import { declaredFastPath, declaredJsonFastPath, NO_MATCH, type FastPath } from './compile/fast-path.js'
import { hasOwn, merge, otherKey, walk } from './compile/runtime.js'

export { NO_MATCH, withFastPath, type FastPath, type NoMatch } from './compile/fast-path.js'

// Walks an io-ts codec tree once and generates one plain function per codec that follows io-ts's success path
// without contexts or Eithers (issue 16). Codec classes are recognised with instanceof, so a codec from another copy
// of io-ts, or a custom `new t.Type` without a declared fast path, runs its own `validate` at that place: slower,
// never a different answer. An instance of io-ts's own classes is taken to be what its combinator builds; one made
// with `new t.InterfaceType(...)` and a validate of its own would be misread.

type Codec = emit.Codec
type Fast = FastPath<unknown>
type Gen = emit.Gen

// What io-ts's `getProps` finds for `t.exact`: the props of a type, a partial, or of the members of an intersection.
const propsOf = (codec: Codec): emit.Props | undefined => {
  if (codec instanceof t.RefinementType || codec instanceof t.ReadonlyType) return propsOf(codec.type)
  if (codec instanceof t.InterfaceType || codec instanceof t.PartialType) return codec.props
  if (!(codec instanceof t.IntersectionType)) return undefined
  const all: Record<string, Codec> = {}
  for (const member of codec.types) Object.assign(all, propsOf(member))
  return all
}

// What io-ts's `getDomainKeys` finds for `t.record`: a finite set of string keys, if the domain has one.
const domainKeys = (domain: Codec): ReadonlyArray<string> | undefined => {
  if (domain instanceof t.LiteralType) return typeof domain.value === 'string' ? [domain.value] : undefined
  if (domain instanceof t.KeyofType) return Object.keys(domain.keys)
  if (!(domain instanceof t.UnionType)) return undefined
  const keys: string[] = []
  for (const member of domain.types) {
    const more = domainKeys(member)
    if (more === undefined) return undefined
    keys.push(...more)
  }
  return keys
}

// JSON mode: the props whose values a codec reads from its input record, when that is all it reads of it and its
// result has no keys but the input's and these (type, partial, an exact, intersection or refinement of them). A
// caller that checks the other keys of the input calls such a codec "covered".
const coverProps = (codec: Codec): emit.Props | undefined => {
  if (declaredFastPath(codec) !== undefined) return undefined
  if (codec instanceof t.RefinementType || codec instanceof t.ReadonlyType) return coverProps(codec.type)
  if (codec instanceof t.InterfaceType || codec instanceof t.PartialType) return plainProps(codec.props) ? codec.props : undefined
  if (codec instanceof t.ExactType) return coverProps(codec.type)
  if (!(codec instanceof t.IntersectionType)) return undefined
  const all: Record<string, Codec> = {}
  for (const member of codec.types) {
    const props = coverProps(member)
    if (props === undefined) return undefined
    Object.assign(all, props)
  }
  return all
}

// JSON mode, an intersection: its members' props if no key is named by two members. Each key's value is then read
// by one member only, and the members' shallow copies share every object below the input with it, so turning the
// members' `-0` props into `0` before any member runs leaves no `-0` in a copy (emit.intersection).
const disjointProps = (members: ReadonlyArray<Codec>): emit.Props | undefined => {
  const all: Record<string, Codec> = {}
  for (const member of members) {
    const props = coverProps(member)
    if (props === undefined) return undefined
    for (const [key, codec] of Object.entries(props)) {
      if (hasOwn(all, key)) return undefined
      all[key] = codec
    }
  }
  return all
}

// JSON mode: whether a codec surely refuses every number, so a read for it need not turn `-0` into `0` (any number
// there makes the decoder answer NO, and decodeWith's slow path runs prepareJson).
const refusesNumbers = (codec: Codec): boolean => {
  if (declaredFastPath(codec) !== undefined) return false
  if (codec instanceof t.RefinementType || codec instanceof t.ReadonlyType) return refusesNumbers(codec.type)
  if (codec instanceof t.UnionType) return codec.types.every(refusesNumbers)
  if (codec instanceof t.IntersectionType) return codec.types.some(refusesNumbers)
  if (codec instanceof t.LiteralType) return typeof codec.value !== 'number'
  return (
    codec instanceof t.ArrayType ||
    codec instanceof t.ReadonlyArrayType ||
    codec instanceof t.TupleType ||
    codec instanceof t.InterfaceType ||
    codec instanceof t.PartialType ||
    codec instanceof t.ExactType ||
    codec instanceof t.DictionaryType ||
    codec instanceof t.AnyDictionaryType ||
    codec instanceof t.AnyArrayType ||
    codec instanceof t.ObjectType ||
    codec instanceof t.StringType ||
    codec instanceof t.BooleanType ||
    codec instanceof t.NullType ||
    codec instanceof t.UndefinedType ||
    codec instanceof t.VoidType ||
    codec instanceof t.KeyofType ||
    codec instanceof t.NeverType
  )
}

// JSON mode: codecs that keep their input whole, unread, are walked (t.unknown, t.UnknownRecord, t.UnknownArray, t.object).
const jsonLeaf = (codec: Codec): string | undefined => {
  if (codec instanceof t.UnknownType || codec instanceof t.AnyType) return emit.walkedGuard('true')
  if (codec instanceof t.AnyDictionaryType) return emit.walkedGuard('!(typeof u !== "object" || u === null || Array.isArray(u))')
  if (codec instanceof t.AnyArrayType) return emit.walkedGuard('Array.isArray(u)')
  if (codec instanceof t.ObjectType) return emit.walkedGuard('typeof u === "object" && u !== null')
  return undefined
}

const leaf = (codec: Codec, g: Gen): string | undefined => {
  if (g.json) {
    const walked = jsonLeaf(codec)
    if (walked !== undefined) return walked
  }
  if (codec instanceof t.StringType) return emit.guard('typeof u === "string"')
  if (codec instanceof t.NumberType) return emit.guard('typeof u === "number"')
  if (codec instanceof t.BooleanType) return emit.guard('typeof u === "boolean"')
  if (codec instanceof t.BigIntType) return emit.guard('typeof u === "bigint"')
  if (codec instanceof t.NullType) return emit.guard('u === null')
  if (codec instanceof t.UndefinedType || codec instanceof t.VoidType) return emit.guard('u === undefined')
  if (codec instanceof t.UnknownType || codec instanceof t.AnyType) return 'return u'
  if (codec instanceof t.NeverType) return 'return NO'
  if (codec instanceof t.AnyDictionaryType) return emit.isRecordGuard
  if (codec instanceof t.AnyArrayType) return emit.guard('Array.isArray(u)')
  if (codec instanceof t.ObjectType) return emit.guard('typeof u === "object" && u !== null')
  if (codec instanceof t.FunctionType) return emit.guard('typeof u === "function"')
  if (codec instanceof t.LiteralType) return emit.literal(g, codec.value)
  if (codec instanceof t.KeyofType) return emit.keyof(g, codec.keys)
  return undefined
}

// A key named `__proto__` reads the prototype in io-ts and here alike, but leave such odd codecs to io-ts.
const plainProps = (props: emit.Props): boolean => !hasOwn(props, '__proto__')

const combinator = (codec: Codec, g: Gen, covered: boolean): string | undefined => {
  if (codec instanceof t.RefinementType) return emit.refinement(g, codec.type, codec.predicate, covered)
  if (codec instanceof t.ReadonlyType || codec instanceof t.RecursiveType) return `return ${g.call(codec.type, covered)}(u)`
  if (codec instanceof t.ArrayType || codec instanceof t.ReadonlyArrayType) return emit.array(g, codec.type)
  if (codec instanceof t.TupleType) return emit.tuple(g, codec.types)
  if (codec instanceof t.InterfaceType && plainProps(codec.props)) return emit.type(g, codec.props)
  if (codec instanceof t.PartialType && plainProps(codec.props)) return emit.partial(g, codec.props)
  if (codec instanceof t.ExactType) {
    const props = propsOf(codec.type)
    if (props === undefined || !plainProps(props)) return undefined
    // Closed: the inner codec reads props only, all of them among the exact's own. io-ts's getProps skips an exact
    // member of an intersection, so an exact around one (which io-ts's types refuse, but JavaScript can build)
    // strips that member's keys: not closed.
    const inner = coverProps(codec.type)
    const closed = inner !== undefined && Object.keys(inner).every((k) => hasOwn(props, k))
    return emit.exact(g, codec.type, props, { covered, closed })
  }
  if (codec instanceof t.IntersectionType) return emit.intersection(g, codec.types, covered, g.json ? disjointProps(codec.types) : undefined)
  if (codec instanceof t.UnionType) return emit.union(g, codec.types)
  if (codec instanceof t.DictionaryType) {
    const keys = domainKeys(codec.domain)
    // Over a finite domain io-ts decodes with `t.strict` of one prop per key; so does this.
    if (keys === undefined) return emit.record(g, codec.domain, codec.codomain, codec.codomain instanceof t.AnyType)
    return `return ${g.call(t.strict(Object.fromEntries(keys.map((k) => [k, codec.codomain]))))}(u)`
  }
  return undefined
}

const viaValidate = (codec: Codec): Fast => (u) => {
  const result = codec.validate(u, [{ key: '', type: codec, actual: u }])
  return E.isRight(result) ? result.right : NO_MATCH
}

// A codec the compiler cannot see into: its declared fast path or its own validate. In JSON mode its input is
// walked first (prepareJson's duties, on its part of the body) unless it declares a fast path for JSON.
const opaque = (codec: Codec, g: Gen): string => {
  const declared = declaredFastPath(codec)
  if (g.json) {
    const json = declaredJsonFastPath(codec)
    if (json !== undefined) return `return ${g.ref(json)}(u)`
  }
  const call = `return ${g.ref(declared ?? viaValidate(codec))}(u)`
  return g.json ? `${emit.WALK_FIRST}\n${call}` : call
}

const body = (codec: Codec, g: Gen, covered: boolean): string => {
  if (declaredFastPath(codec) !== undefined) return opaque(codec, g)
  if (g.json && !covered && !(codec instanceof t.ExactType)) {
    const props = coverProps(codec)
    if (props !== undefined) return emit.cover(Object.keys(props), g.call(codec, true))
  }
  return leaf(codec, g) ?? combinator(codec, g, covered) ?? opaque(codec, g)
}

const generate = (codec: Codec, json: boolean): Fast => {
  const refs: unknown[] = []
  const functions: string[] = []
  // One generated function per codec, and in JSON mode per codec called covered or not.
  const names = new Map<Codec, string>()
  const coveredNames = new Map<Codec, string>()
  const g: Gen = {
    json,
    ref: (value) => `r${refs.push(value) - 1}`,
    call: (c, covered = false) => {
      const table = json && covered ? coveredNames : names
      const known = table.get(c)
      if (known !== undefined) return known
      const name = `f${names.size + coveredNames.size}`
      // Named before its body is written, so a `t.recursion` codec calls itself.
      table.set(c, name)
      functions.push(`function ${name}(u) {\n${body(c, g, json && covered)}\n}`)
      return name
    },
    fixZero: (c) => json && !refusesNumbers(c),
    helper: (text) => {
      const name = `h${functions.length}`
      functions.push(`function ${name}(a) {\n${text}\n}`)
      return name
    }
  }
  const entry = g.call(codec)
  const label = `${json ? 'json-' : ''}${codec.name.replace(/[^\w-]+/g, '_').slice(0, 60)}`
  const source = [
    '"use strict"',
    ...refs.map((_, i) => `const r${i} = refs[${i}]`),
    ...functions,
    `done(${entry})`,
    `//# sourceURL=compileDecoder/${label}.js`
  ].join('\n')
  let compiled: Fast = json ? viaPrepare(codec) : viaValidate(codec)
  // The generated text hands its entry function to `done`, so `new Function`'s untyped result is never used.
  new Function('NO', 'own', 'merge', 'walk', 'other', 'refs', 'done', source)(NO_MATCH, Object.prototype.hasOwnProperty, merge, walk, otherKey, refs, (f: Fast) => {
    compiled = f
  })
  return compiled
}

// JSON mode without code generation: the walk, then the codec.
const viaPrepare = (codec: Codec): Fast => {
  const validate = viaValidate(codec)
  return (u) => (typeof u === 'object' && u !== null && !walk(u) ? NO_MATCH : validate(u))
}

/**
 * Compiles `codec` once into a {@link FastPath}: the decoded value for a value `codec.decode` accepts (deep-equal
 * to its `Right`), {@link NO_MATCH} for one it refuses, so the caller runs `codec.decode` only for the errors.
 * Knows io-ts's own combinators and leaves, and any codec given a fast path with {@link withFastPath}. Where code
 * generation is disallowed (`node --disallow-code-generation-from-strings`), it runs `codec.validate`.
 *
 * @example
 * const decodeItem = compileDecoder(MusementOrderItem)
 * const item = decodeItem(body)
 * // io-ts itself only for a refused body, to say why
 * const result = item === NO_MATCH ? MusementOrderItem.decode(body) : E.right(item)
 */
export function compileDecoder<A>(codec: t.Decoder<unknown, A>): FastPath<A>
// The one unchecked step: the generated code has the codec's type by construction, which TypeScript cannot follow;
// spec/core/compile.spec.ts checks it against io-ts instead.
export function compileDecoder(codec: Codec): Fast {
  try {
    return generate(codec, false)
  } catch (err) {
    if (err instanceof EvalError) return viaValidate(codec)
    throw err
  }
}

/**
 * Compiles `codec` for parsed JSON bodies, as decodeWith decodes them: like {@link compileDecoder} on the body after
 * decode.ts's `prepareJson`, in one pass. It answers {@link NO_MATCH} for a body with an own `__proto__` key anywhere
 * (in the parts the codec drops or keeps unread too), and turns every `-0` below the body into `0` in place, so none
 * reaches the decoded value. It may also answer NO_MATCH where it cannot vouch for a body (an object with inherited
 * enumerable keys, which JSON.parse never makes): decodeWith's slow path then decides exactly as before.
 */
export function compileJsonDecoder<A>(codec: t.Decoder<unknown, A>): FastPath<A>
export function compileJsonDecoder(codec: Codec): Fast {
  try {
    return generate(codec, true)
  } catch (err) {
    if (err instanceof EvalError) return viaPrepare(codec)
    throw err
  }
}
