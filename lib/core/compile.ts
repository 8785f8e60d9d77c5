import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import * as emit from './compile/emit.js'
import { declaredFastPath, NO_MATCH, type FastPath } from './compile/fast-path.js'
import { hasOwn, merge } from './compile/runtime.js'

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

const leaf = (codec: Codec, g: Gen): string | undefined => {
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

const combinator = (codec: Codec, g: Gen): string | undefined => {
  if (codec instanceof t.RefinementType) return emit.refinement(g, codec.type, codec.predicate)
  if (codec instanceof t.ReadonlyType || codec instanceof t.RecursiveType) return `return ${g.call(codec.type)}(u)`
  if (codec instanceof t.ArrayType || codec instanceof t.ReadonlyArrayType) return emit.array(g, codec.type)
  if (codec instanceof t.TupleType) return emit.tuple(g, codec.types)
  if (codec instanceof t.InterfaceType && plainProps(codec.props)) return emit.type(g, codec.props)
  if (codec instanceof t.PartialType && plainProps(codec.props)) return emit.partial(g, codec.props)
  if (codec instanceof t.ExactType) {
    const props = propsOf(codec.type)
    return props === undefined || !plainProps(props) ? undefined : emit.exact(g, codec.type, props)
  }
  if (codec instanceof t.IntersectionType) return emit.intersection(g, codec.types)
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

const body = (codec: Codec, g: Gen): string => {
  const declared = declaredFastPath(codec)
  if (declared !== undefined) return `return ${g.ref(declared)}(u)`
  return leaf(codec, g) ?? combinator(codec, g) ?? `return ${g.ref(viaValidate(codec))}(u)`
}

const generate = (codec: Codec): Fast => {
  const refs: unknown[] = []
  const functions: string[] = []
  const names = new Map<Codec, string>()
  const g: Gen = {
    ref: (value) => `r${refs.push(value) - 1}`,
    call: (c) => {
      const known = names.get(c)
      if (known !== undefined) return known
      const name = `f${names.size}`
      // Named before its body is written, so a `t.recursion` codec calls itself.
      names.set(c, name)
      functions.push(`function ${name}(u) {\n${body(c, g)}\n}`)
      return name
    },
    helper: (text) => {
      const name = `h${functions.length}`
      functions.push(`function ${name}(a) {\n${text}\n}`)
      return name
    }
  }
  const entry = g.call(codec)
  const label = codec.name.replace(/[^\w-]+/g, '_').slice(0, 60)
  const source = [
    '"use strict"',
    ...refs.map((_, i) => `const r${i} = refs[${i}]`),
    ...functions,
    `done(${entry})`,
    `//# sourceURL=compileDecoder/${label}.js`
  ].join('\n')
  let compiled: Fast = viaValidate(codec)
  // The generated text hands its entry function to `done`, so `new Function`'s untyped result is never used.
  new Function('NO', 'own', 'merge', 'refs', 'done', source)(NO_MATCH, Object.prototype.hasOwnProperty, merge, refs, (f: Fast) => {
    compiled = f
  })
  return compiled
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
    return generate(codec)
  } catch (err) {
    if (err instanceof EvalError) return viaValidate(codec)
    throw err
  }
}
