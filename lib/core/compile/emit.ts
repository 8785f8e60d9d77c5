import type * as t from 'io-ts'

// The source text of one generated function per codec, each taking `u` and returning the decoded value or `NO`.
// Every function has its own call sites, so V8 sees one callee at each and inlines it, which closures sharing one
// body cannot give. The text holds only keys, as JSON string literals, and fixed templates; every other value
// (literals, predicates, key sets, fast paths) is passed in through `ref`. Each template follows io-ts 2.2.x's
// `validate` on its success path, including when it copies and when it returns its input as is, because `exact`
// and `intersection` decide from identities what to copy next. Where io-ts would copy an object with an own
// `__proto__` key (its Object.assign turns the key into the copy's prototype), the generated code answers NO, so
// io-ts decides.

export type Codec = t.Decoder<unknown, unknown>

/** What an emitter asks of the generator. */
export interface Gen {
  /** An identifier bound to `value` in the generated code. */
  readonly ref: (value: unknown) => string
  /** The name of the generated function that decodes with `codec`. */
  readonly call: (codec: Codec) => string
  /** The name of a new generated function of `a` with this body. */
  readonly helper: (body: string) => string
}

/** The props of `t.type` and `t.partial`, read as decoders. */
export type Props = Readonly<Record<string, Codec>>

const NOT_RECORD = (v: string): string => `typeof ${v} !== "object" || ${v} === null || Array.isArray(${v})`
const COPY = 'if (a === u) { if (own.call(u, "__proto__")) return NO; a = { ...u } }'

export const guard = (test: string): string => `return ${test} ? u : NO`
export const isRecordGuard = guard(`!(${NOT_RECORD('u')})`)

/** `t.literal` gives its own value back, so a `-0` input decodes to a `0` literal as it does in io-ts. */
export const literal = (g: Gen, value: unknown): string => {
  const v = g.ref(value)
  return `return u === ${v} ? ${v} : NO`
}

export const keyof = (g: Gen, keys: object): string => `return typeof u === "string" && own.call(${g.ref(keys)}, u) ? u : NO`

/** `t.refinement` and `t.brand`: the predicate runs on the inner codec's result, as in io-ts. */
export const refinement = (g: Gen, inner: Codec, predicate: (a: unknown) => boolean): string =>
  `const a = ${g.call(inner)}(u)\nreturn a !== NO && ${g.ref(predicate)}(a) ? a : NO`

/**
 * `t.union`: the first member that decodes. A union that io-ts indexes by a tag (its `TaggedUnionType`) tries only
 * the member whose literal the tag holds, but a member decodes only a record with one of its own literals there,
 * so trying them in order gives the same answer.
 */
export const union = (g: Gen, members: ReadonlyArray<Codec>): string =>
  ['let a', ...members.map((m) => `a = ${g.call(m)}(u); if (a !== NO) return a`), 'return NO'].join('\n')

/** `t.array` and `t.readonlyArray`: copied on the first item whose decoded value is not the item itself. */
export const array = (g: Gen, item: Codec): string =>
  [
    'if (!Array.isArray(u)) return NO',
    'let c',
    `for (let i = 0; i < u.length; i++) { const x = u[i]; const v = ${g.call(item)}(x); if (v === NO) return NO; if (v !== x) (c ??= u.slice())[i] = v }`,
    'return c ?? u'
  ].join('\n')

/** `t.tuple`: the first `members.length` items, each decoded by its member; a longer array is cut. */
export const tuple = (g: Gen, members: ReadonlyArray<Codec>): string =>
  [
    'if (!Array.isArray(u)) return NO',
    `let c = u.length > ${members.length} ? u.slice(0, ${members.length}) : undefined, x, v`,
    ...members.map((m, i) => `x = u[${i}]; v = ${g.call(m)}(x); if (v === NO) return NO; if (v !== x) (c ??= u.slice())[${i}] = v`),
    'return c ?? u'
  ].join('\n')

/** `t.type`: every prop decoded; a changed value, or a missing key whose codec accepts `undefined`, copies the input. */
export const type = (g: Gen, props: Props): string =>
  [
    `if (${NOT_RECORD('u')}) return NO`,
    'let a = u, x, v',
    ...Object.entries(props).map(([k, codec]) => {
      const key = JSON.stringify(k)
      return `x = a[${key}]; v = ${g.call(codec)}(x); if (v === NO) return NO; if (v !== x || (v === undefined && !own.call(a, ${key}))) { ${COPY} a[${key}] = v }`
    }),
    'return a'
  ].join('\n')

/** `t.partial`: like `t.type`, but a refused value is fine where it is `undefined`. */
export const partial = (g: Gen, props: Props): string =>
  [
    `if (${NOT_RECORD('u')}) return NO`,
    'let a = u, x, v',
    ...Object.entries(props).map(([k, codec]) => {
      const key = JSON.stringify(k)
      return `x = a[${key}]; v = ${g.call(codec)}(x); if (v === NO) { if (x !== undefined) return NO } else if (v !== x) { ${COPY} a[${key}] = v }`
    }),
    'return a'
  ].join('\n')

/**
 * `t.exact`: the inner codec's result without the keys its props do not name. for..in over a JSON object sees just
 * its own keys; a key it finds too many (an inherited enumerable one) only sends the value to the copy, which reads
 * own keys as io-ts's `stripKeys` does and keeps the value itself if it drops none.
 */
export const exact = (g: Gen, inner: Codec, props: object): string => {
  const keys = Object.keys(props).map((k) => JSON.stringify(k))
  const known = keys.length === 0 ? '' : `${keys.map((k) => `case ${k}:`).join(' ')} break; `
  const copy = keys.map((k) => `case ${k}: r[${k}] = a[${k}]; break; `).join('')
  const strip = g.helper(
    [
      'const r = {}',
      'let dropped = false',
      `for (const k of Object.getOwnPropertyNames(a)) switch (k) { ${copy}default: dropped = true }`,
      'return dropped ? r : a'
    ].join('\n')
  )
  return [
    `if (${NOT_RECORD('u')}) return NO`,
    `const a = ${g.call(inner)}(u)`,
    `if (a === NO || ${NOT_RECORD('a')}) return NO`,
    `for (const k in a) switch (k) { ${known}default: return ${strip}(a) }`,
    'return a'
  ].join('\n')
}

/** `t.intersection`: every member decodes the same input; the results are merged as io-ts's `mergeAll` merges them. */
export const intersection = (g: Gen, members: ReadonlyArray<Codec>): string => {
  if (members.length === 0) return 'return u'
  const names = members.map((_, i) => `a${i}`)
  return [
    ...members.map((m, i) => `const a${i} = ${g.call(m)}(u); if (a${i} === NO) return NO`),
    `return ${names.map((a) => `${a} === u`).join(' && ')} ? u : merge(u, [${names.join(', ')}])`
  ].join('\n')
}

/** `t.record` over a domain that is not a finite set of keys: every own key decoded by the domain, its value by the codomain. */
export const record = (g: Gen, domain: Codec, codomain: Codec, arraysToo: boolean): string =>
  [
    `if (${NOT_RECORD('u')}) return ${arraysToo ? 'Array.isArray(u) ? u : NO' : 'NO'}`,
    'const a = {}',
    'let changed = false',
    'for (const k of Object.keys(u)) {',
    `  const vk = ${g.call(domain)}(k)`,
    '  if (vk === NO) { changed = true; continue }',
    // io-ts assigns `a[vk]`: a key that decodes to a non-string, or to `__proto__`, is left to io-ts.
    '  if (typeof vk !== "string" || vk === "__proto__") return NO',
    `  const x = u[k]; const v = ${g.call(codomain)}(x); if (v === NO) return NO`,
    '  if (vk !== k || v !== x) changed = true',
    '  a[vk] = v',
    '}',
    'return changed ? a : u'
  ].join('\n')
