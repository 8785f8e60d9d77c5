// App hooks (`onReject`, `onOutcome`) must never change the answer a partner gets, nor crash the process: a 200
// turned into a 500 makes the partner retry handled work, and an unhandled rejection ends a Node process. So a
// hook's failure, thrown or as a rejected promise, is reported as a process warning and goes no further.

const describeError = (err: unknown): string => {
  try {
    return err instanceof Error ? err.message : String(err)
  } catch {
    return 'a value that cannot be printed'
  }
}

const warn = (err: unknown): void => {
  process.emitWarning(`a webhook hook failed: ${describeError(err)}`, { code: 'EXPRESS_PARTNER_WEBHOOKS_HOOK' })
}

const isThenable = (u: unknown): u is PromiseLike<unknown> =>
  typeof u === 'object' && u !== null && 'then' in u && typeof u.then === 'function'

/** Calls `hook` with `value`; a throw or a rejection becomes a process warning. */
export const callHook = <T>(hook: ((value: T) => void | Promise<void>) | undefined, value: T): void => {
  try {
    const result: unknown = hook?.(value)
    if (isThenable(result)) result.then(undefined, warn)
  } catch (err) {
    warn(err)
  }
}
