// A step that can answer at once does: a value now, or a promise of it later. A request whose every step answers at
// once (the memory store, a handler that returns no promise) then runs from its body to its 200 without a promise
// hop, and allocates no promise (issue 16). `await` accepts both, so callers outside the pipeline need not care.

/** A value now, or a promise of it. */
export type Later<T> = T | PromiseLike<T>

/** True for a promise, or any object with a `then` method (what `await` treats as one). */
export const isThenable = (u: unknown): u is PromiseLike<unknown> =>
  (typeof u === 'object' || typeof u === 'function') && u !== null && 'then' in u && typeof u.then === 'function'

/** `f` of the value: at once if it is here, else once it arrives. A rejection stays a rejection. */
export const andThen = <T, U>(value: Later<T>, f: (value: T) => Later<U>): Later<U> =>
  isThenable(value) ? Promise.resolve(value).then(f) : f(value)
