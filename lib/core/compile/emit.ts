import type * as t from 'io-ts'

// The source text of one generated function per codec, each taking `u` and returning the decoded value or `NO`.
// Every function has its own call sites, so V8 sees one callee at each and inlines it, which closures sharing one
// body cannot give. The text holds only keys, as JSON string literals, and fixed templates; every other value
// (literals, predicates, key sets, fast paths) is passed in through `ref`. Each template follows io-ts 2.2.x's
// `validate` on its success path, including when it copies and when it returns its input as is, because `exact`
// and `intersection` decide from identities what to copy next. Where io-ts would copy an object with an own
// `__proto__` key (its Object.assign turns the key into the copy's prototype), the generated code answers NO, so
// io-ts decides.
//
// JSON mode (`g.json`, what decodeWith runs) adds prepareJson's two duties to the same pass: an own `__proto__` key
// anywhere in the input answers NO (decodeWith then runs prepareJson to locate it), and every `-0` becomes `0` in
// place before a codec sees it. Read sites (a prop, an item, a record value) turn a `-0` they read into `0`; values
// the codec keeps or drops without reading them go through the runtime's `walk`. A function called "covered" may
// leave the keys of its input that its props do not name to its caller, which has checked them (`cover`, `exact`).

export type Codec = t.Decoder<unknown, unknown>

/** What an emitter asks of the generator. */
export interface Gen {
  /** An identifier bound to `value` in the generated code. */
  readonly ref: (value: unknown) => string
  /** Whether the code is for parsed JSON (decodeWith): no `__proto__` key accepted anywhere, no `-0` kept. */
  readonly json: boolean
  /** The name of the generated function that decodes with `codec`; `covered`: its caller checks the unnamed keys. */
  readonly call: (codec: Codec, covered?: boolean) => string
  /** Whether a `-0` read for `codec` must be turned into `0` first (JSON mode, a codec that may keep a number). */
  readonly fixZero: (codec: Codec) => boolean
  /** The name of a new generated function of `a` with this body. */
  readonly helper: (body: string) => string
}

/** The props of `t.type` and `t.partial`, read as decoders. */
export type Props = Readonly<Record<string, Codec>>

const NOT_RECORD = (v: string): string => `typeof ${v} !== "object" || ${v} === null || Array.isArray(${v})`
const COPY = 'if (a === u) { if (own.call(u, "__proto__")) return NO; a = { ...u } }'

export const guard = (test: string): string => `return ${test} ? u : NO`
export const isRecordGuard = guard(`!(${NOT_RECORD('u')})`)

// JSON mode: a value the codec keeps whole (t.unknown, t.UnknownRecord, ...) is walked once it passes `test`.
export const walkedGuard = (test: string): string => `return ${test} && (typeof u !== "object" || u === null || walk(u)) ? u : NO`
/** JSON mode, before a codec the compiler cannot see into (a declared fast path, `validate`): the walk of its input. */
export const WALK_FIRST = 'if (typeof u === "object" && u !== null && !walk(u)) return NO'

// JSON mode: a `-0` just read into `x` from `container[key]` becomes `0` there and in `x` (and in `copy` if made).
const fixZero = (g: Gen, codec: Codec, key: string, copy: string): string =>
  g.json && g.fixZero(codec) ? ` if (x === 0 && 1 / x < 0) { x = 0; u[${key}] = 0; ${copy} }` : ''

// The `case` labels of a switch on a key that falls through to `break` for `keys`.
const caseList = (keys: ReadonlyArray<string>): string =>
  keys.length === 0 ? '' : `${keys.map((k) => `case ${JSON.stringify(k)}:`).join(' ')} break; `

/**
 * JSON mode: the keys of a record `u` not among `keys` are checked (`__proto__`, inherited, or with a `__proto__`
 * below answers NO; a `-0` becomes `0`), then `covered` decodes it, leaving those keys to this check.
 */
export const cover = (keys: ReadonlyArray<string>, covered: string): string =>
  [
    `if (!(${NOT_RECORD('u')})) for (const k in u) switch (k) { ${caseList(keys)}default: if (!other(u, k)) return NO }`,
    `return ${covered}(u)`
  ].join('\n')


/** `t.literal` gives its own value back, so a `-0` input decodes to a `0` literal as it does in io-ts. */
export const literal = (g: Gen, value: unknown): string => {
  const v = g.ref(value)
  return `return u === ${v} ? ${v} : NO`
}

export const keyof = (g: Gen, keys: object): string => `return typeof u === "string" && own.call(${g.ref(keys)}, u) ? u : NO`

/** `t.refinement` and `t.brand`: the predicate runs on the inner codec's result, as in io-ts. */
export const refinement = (g: Gen, inner: Codec, predicate: (a: unknown) => boolean, covered: boolean): string =>
  `const a = ${g.call(inner, covered)}(u)\nreturn a !== NO && ${g.ref(predicate)}(a) ? a : NO`

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
    `for (let i = 0; i < u.length; i++) { let x = u[i];${fixZero(g, item, 'i', 'if (c !== undefined) c[i] = 0')} const v = ${g.call(item)}(x); if (v === NO) return NO; if (v !== x) (c ??= u.slice())[i] = v }`,
    'return c ?? u'
  ].join('\n')

/** `t.tuple`: the first `members.length` items, each decoded by its member; a longer array is cut. */
export const tuple = (g: Gen, members: ReadonlyArray<Codec>): string =>
  [
    'if (!Array.isArray(u)) return NO',
    // JSON mode: the items past the tuple are cut from the result, but decodeWith refuses a `__proto__` in them too.
    ...(g.json ? [`for (let i = ${members.length}; i < u.length; i++) { const x = u[i]; if (x === 0) { if (1 / x < 0) u[i] = 0 } else if (typeof x === "object" && x !== null && !walk(x)) return NO }`] : []),
    `let c = u.length > ${members.length} ? u.slice(0, ${members.length}) : undefined, x, v`,
    ...members.map((m, i) => `x = u[${i}];${fixZero(g, m, String(i), 'if (c !== undefined) c[' + String(i) + '] = 0')} v = ${g.call(m)}(x); if (v === NO) return NO; if (v !== x) (c ??= u.slice())[${i}] = v`),
    'return c ?? u'
  ].join('\n')

/** `t.type`: every prop decoded; a changed value, or a missing key whose codec accepts `undefined`, copies the input. */
export const type = (g: Gen, props: Props): string =>
  [
    `if (${NOT_RECORD('u')}) return NO`,
    'let a = u, x, v',
    ...Object.entries(props).map(([k, codec]) => {
      const key = JSON.stringify(k)
      return `x = a[${key}];${fixZero(g, codec, key, `a[${key}] = 0`)} v = ${g.call(codec)}(x); if (v === NO) return NO; if (v !== x || (v === undefined && !own.call(a, ${key}))) { ${COPY} a[${key}] = v }`
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
      return `x = a[${key}];${fixZero(g, codec, key, `a[${key}] = 0`)} v = ${g.call(codec)}(x); if (v === NO) { if (x !== undefined) return NO } else if (v !== x) { ${COPY} a[${key}] = v }`
    }),
    'return a'
  ].join('\n')

/**
 * `t.exact`: the inner codec's result without the keys its props do not name. for..in over a JSON object sees just
 * its own keys; a key it finds too many (an inherited enumerable one) only sends the value to the copy, which reads
 * own keys as io-ts's `stripKeys` does and keeps the value itself if it drops none.
 *
 * In JSON mode, uncalled by a covering caller and with an inner codec of props only (`closed`: types, partials,
 * their intersections and refinements, whose result has no key the input and the props lack), one loop over the
 * input does both jobs: it checks the keys to be dropped, as decodeWith checks every value, and finds whether
 * there are any; the inner codec is then called covered, so its types do not loop over the keys again.
 */
export const exact = (g: Gen, inner: Codec, props: object, mode: { readonly covered: boolean; readonly closed: boolean }): string => {
  const names = Object.keys(props)
  const keys = names.map((k) => JSON.stringify(k))
  const known = caseList(names)
  const copy = keys.map((k) => `case ${k}: r[${k}] = a[${k}]; break; `).join('')
  const strip = g.helper(
    [
      'const r = {}',
      'let dropped = false',
      `for (const k of Object.getOwnPropertyNames(a)) switch (k) { ${copy}default: dropped = true }`,
      'return dropped ? r : a'
    ].join('\n')
  )
  if (g.json && !mode.covered && mode.closed) {
    return [
      `if (${NOT_RECORD('u')}) return NO`,
      'let extra = false',
      `for (const k in u) switch (k) { ${known}default: if (!other(u, k)) return NO; extra = true }`,
      `const a = ${g.call(inner, true)}(u)`,
      `if (a === NO || ${NOT_RECORD('a')}) return NO`,
      `return extra ? ${strip}(a) : a`
    ].join('\n')
  }
  return [
    `if (${NOT_RECORD('u')}) return NO`,
    `const a = ${g.call(inner, mode.covered)}(u)`,
    `if (a === NO || ${NOT_RECORD('a')}) return NO`,
    `for (const k in a) switch (k) { ${known}default: return ${strip}(a) }`,
    'return a'
  ].join('\n')
}

/**
 * `t.intersection`: every member decodes the same input; the results are merged as io-ts's `mergeAll` merges them.
 *
 * JSON mode: a member's copy of the input, made before another member turned a `-0` it reads into `0`, would keep
 * the `-0` (merge keeps the first copy's value where the later one is `===` to the input's). So with members whose
 * props are known and `disjoint`, each prop that may hold a number is fixed first; with any other members the whole
 * input is walked first, as prepareJson would.
 */
export const intersection = (g: Gen, members: ReadonlyArray<Codec>, covered: boolean, disjoint: Props | undefined): string => {
  if (members.length === 0) return g.json ? `${WALK_FIRST}\nreturn u` : 'return u'
  const names = members.map((_, i) => `a${i}`)
  const first: string[] = []
  if (g.json && members.length > 1) {
    if (disjoint === undefined) first.push(WALK_FIRST)
    else {
      const fixed = Object.entries(disjoint).filter(([, codec]) => g.fixZero(codec))
      // Members of known props decode only records.
      first.push(`if (${NOT_RECORD('u')}) return NO`)
      if (fixed.length > 0) first.push(`let x\n${fixed.map(([k]) => `x = u[${JSON.stringify(k)}]; if (x === 0 && 1 / x < 0) u[${JSON.stringify(k)}] = 0`).join('\n')}`)
    }
  }
  return [
    ...first,
    ...members.map((m, i) => `const a${i} = ${g.call(m, covered)}(u); if (a${i} === NO) return NO`),
    `return ${names.map((a) => `${a} === u`).join(' && ')} ? u : merge(u, [${names.join(', ')}])`
  ].join('\n')
}

/**
 * `t.record` over a domain that is not a finite set of keys: every own key decoded by the domain, its value by the
 * codomain. In JSON mode a key the domain refuses is dropped, so its value is checked as decodeWith checks them.
 */
export const record = (g: Gen, domain: Codec, codomain: Codec, arraysToo: boolean): string =>
  [
    `if (${NOT_RECORD('u')}) return ${arraysToo ? `Array.isArray(u)${g.json ? ' && walk(u)' : ''} ? u : NO` : 'NO'}`,
    'const a = {}',
    'let changed = false',
    'for (const k of Object.keys(u)) {',
    ...(g.json ? ['  if (k === "__proto__") return NO'] : []),
    `  const vk = ${g.call(domain)}(k)`,
    `  if (vk === NO) { changed = true; ${g.json ? 'if (!other(u, k)) return NO; ' : ''}continue }`,
    // io-ts assigns `a[vk]`: a key that decodes to a non-string, or to `__proto__`, is left to io-ts.
    '  if (typeof vk !== "string" || vk === "__proto__") return NO',
    `  let x = u[k];${fixZero(g, codomain, 'k', '')} const v = ${g.call(codomain)}(x); if (v === NO) return NO`,
    '  if (vk !== k || v !== x) changed = true',
    '  a[vk] = v',
    '}',
    'return changed ? a : u'
  ].join('\n')
