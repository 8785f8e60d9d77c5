import type { IncomingHttpHeaders } from 'node:http'
import type { RedactedHeaders } from './types.js'

/** Request headers whose values are credentials: hooks see `'[redacted]'` in their place. */
export const REDACTED_HEADERS: ReadonlyArray<string> = ['authorization', 'proxy-authorization', 'x-api-key', 'cookie']

/**
 * A frozen copy of `headers` for hooks and logs, credential values replaced by `'[redacted]'`. Built with
 * `Object.fromEntries`, which defines properties, so a header named `__proto__` stays a plain key.
 */
export const redactHeaders = (headers: IncomingHttpHeaders): RedactedHeaders =>
  Object.freeze(
    Object.fromEntries(
      Object.entries(headers).flatMap(([name, value]) =>
        value === undefined ? [] : [[name, REDACTED_HEADERS.includes(name.toLowerCase()) ? '[redacted]' : value]]
      )
    )
  )
