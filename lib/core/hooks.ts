import { isThenable } from './later.js'
import type { Logger } from './logger.js'

// App hooks (`onReject`, `onOutcome`) must never change the answer a partner gets, nor crash the process: a 200
// turned into a 500 makes the partner retry handled work, and an unhandled rejection ends a Node process. So a
// hook's failure, thrown or as a rejected promise, is logged and goes no further.

/** Calls `hook` with `value`; a throw or a rejection is logged as an error (by default, a process warning). */
export const callHook = <T>(hook: ((value: T) => void | Promise<void>) | undefined, value: T, logger: Logger, name = 'hook'): void => {
  const failed = (err: unknown): void => logger.error({ err }, `a webhook ${name} failed`)
  try {
    const result: unknown = hook?.(value)
    if (isThenable(result)) result.then(undefined, failed)
  } catch (err) {
    failed(err)
  }
}
