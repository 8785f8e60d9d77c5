import type * as t from 'io-ts'

/** What a compiled decoder returns for a value its codec refuses: run the codec itself to learn why. */
export const NO_MATCH: unique symbol = Symbol('no match')
/** The type of {@link NO_MATCH}. */
export type NoMatch = typeof NO_MATCH

/**
 * A success-path decoder: for any value it returns what the codec's `decode` gives on success (deep-equal), and
 * {@link NO_MATCH} exactly when `decode` fails. It builds no context and no error list.
 */
export type FastPath<A> = (u: unknown) => A | NoMatch

const declared = new WeakMap<t.Decoder<unknown, unknown>, FastPath<unknown>>()

/**
 * Declares `fast` as the compiled form of a custom codec (one built with `new t.Type`), for {@link compileDecoder}
 * to use wherever `codec` appears; without one, the compiler calls the codec's own `validate` there. `fast` must
 * keep the {@link FastPath} contract: nothing checks it at run time (this package's own fast paths are checked
 * against io-ts by its specs). Returns `codec`.
 *
 * @example
 * const isPercent = (u: unknown): u is number => typeof u === 'number' && u >= 0 && u <= 100
 * const Percent = withFastPath(
 *   new t.Type<number, number, unknown>('Percent', isPercent, (u, c) => (isPercent(u) ? t.success(u) : t.failure(u, c)), t.identity),
 *   (u) => (isPercent(u) ? u : NO_MATCH)
 * )
 */
export const withFastPath = <A, C extends t.Decoder<unknown, A>>(codec: C, fast: FastPath<A>): C => {
  declared.set(codec, fast)
  return codec
}

/** The fast path declared for `codec`, if any. */
export const declaredFastPath = (codec: t.Decoder<unknown, unknown>): FastPath<unknown> | undefined => declared.get(codec)

const declaredJson = new WeakMap<t.Decoder<unknown, unknown>, FastPath<unknown>>()

/**
 * Declares `fast` as the JSON-mode compiled form of `codec` (see `compileJsonDecoder`): besides the
 * {@link FastPath} contract on a body prepareJson has prepared, it answers NO_MATCH for a body with an own `__proto__`
 * key anywhere and turns every `-0` below the body into `0` in place. Without one, a codec with a declared fast path
 * has its input walked for those first. For this package's codecs that read a whole body (aboutYouEventCodec), not
 * exported. Returns `codec`.
 */
export const withJsonFastPath = <A, C extends t.Decoder<unknown, A>>(codec: C, fast: FastPath<A>): C => {
  declaredJson.set(codec, fast)
  return codec
}

/** The JSON-mode fast path declared for `codec`, if any. */
export const declaredJsonFastPath = (codec: t.Decoder<unknown, unknown>): FastPath<unknown> | undefined => declaredJson.get(codec)
