import type { IncomingHttpHeaders } from 'node:http'
import type { RedactedHeaders } from './types.js'

/** Request headers whose values are credentials whatever the scheme: hooks see `'[redacted]'` in their place. */
export const REDACTED_HEADERS: ReadonlyArray<string> = ['authorization', 'proxy-authorization', 'x-api-key', 'cookie']

/**
 * A frozen copy of `headers` for hooks and logs, the values of credential headers (and of `also`) replaced by `'[redacted]'`. Built with
 * `Object.fromEntries`, which defines properties, so a header named `__proto__` stays a plain key.
 */
export const redactHeaders = (headers: IncomingHttpHeaders, also: ReadonlyArray<string> = []): RedactedHeaders =>
  Object.freeze(
    Object.fromEntries(
      Object.entries(headers).flatMap(([name, value]) => {
        if (value === undefined) return []
        const secret = REDACTED_HEADERS.includes(name.toLowerCase()) || also.includes(name.toLowerCase())
        return [[name, secret ? '[redacted]' : value]]
      })
    )
  )
