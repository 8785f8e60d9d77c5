// autocannon 9 ships no type declarations, and @types/autocannon is not a dev dependency. This declares only the
// part of its programmatic API the bench uses (see node_modules/autocannon/README.md, "API" and "Results").
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  namespace autocannon {
    interface Request {
      method?: string
      path?: string
      headers?: Record<string, string>
      body?: string | Buffer
      /** Called before every request is sent; returns the request to send. */
      setupRequest?: (request: Request, context: object) => Request
    }

    interface Options {
      url: string
      connections?: number
      pipelining?: number
      /** Seconds. */
      duration?: number
      /** Seconds before a request counts as timed out. */
      timeout?: number
      requests?: Request[]
    }

    /** Percentiles of latency (ms) or of the per-second samples of requests and bytes. */
    interface Histogram {
      average: number
      mean: number
      stddev: number
      min: number
      max: number
      p50: number
      p90: number
      p97_5: number
      p99: number
      total: number
    }

    interface Result {
      requests: Histogram
      latency: Histogram
      throughput: Histogram
      /** Seconds the run lasted. */
      duration: number
      errors: number
      timeouts: number
      non2xx: number
      '2xx': number
    }

    interface Instance extends EventEmitter {
      stop(): void
      /** Every response, with its latency in milliseconds (a float; the result's histogram keeps whole ms only). */
      on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): this
    }
  }

  function autocannon(options: autocannon.Options, done: (err: Error | null, result: autocannon.Result) => void): autocannon.Instance

  export = autocannon
}
