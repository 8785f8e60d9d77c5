// What the middleware has to say beyond the answer (a hook that failed, a store that is unreachable) goes to a logger
// the app passes, never to bare `console`. Without one, warnings and errors become process warnings.

/** One log method, pino style: a context object first, then the message. */
export type LogMethod = (context: object, message: string) => void

/** Any pino-compatible logger (pino, a pino child, or four functions of your own). */
export interface Logger {
  readonly debug: LogMethod
  readonly info: LogMethod
  readonly warn: LogMethod
  readonly error: LogMethod
}

const describe = (err: unknown): string => {
  try {
    return err instanceof Error ? err.message : String(err)
  } catch {
    return 'a value that cannot be printed'
  }
}

const warning =
  (context: object, message: string): void => {
    const err = 'err' in context ? context.err : undefined
    process.emitWarning(err === undefined ? message : `${message}: ${describe(err)}`, { code: 'EXPRESS_PARTNER_WEBHOOKS' })
  }

/** The default: warnings and errors as process warnings (shown on stderr once per kind by Node), the rest dropped. */
export const processWarnings: Logger = Object.freeze({ debug: () => undefined, info: () => undefined, warn: warning, error: warning })

/** True for an object with the four methods of a {@link Logger}. */
export const isLogger = (u: unknown): u is Logger =>
  typeof u === 'object' &&
  u !== null &&
  'debug' in u &&
  typeof u.debug === 'function' &&
  'info' in u &&
  typeof u.info === 'function' &&
  'warn' in u &&
  typeof u.warn === 'function' &&
  'error' in u &&
  typeof u.error === 'function'
