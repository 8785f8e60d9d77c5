import type { Later } from './later.js'

/** What {@link WebhookShutdown.close} did. */
export interface ShutdownReport {
  /** Deliveries in flight that finished (completed or released by their own answer) before the deadline. */
  readonly finished: number
  /** Deliveries still running at the deadline, whose claims were given back so another instance can take them. */
  readonly released: number
}

/**
 * Lets a process stop taking deliveries and drain the ones in flight, for a rolling deploy. Pass the same object as
 * the `shutdown` option of every webhook middleware, and call `close` on SIGTERM.
 */
export interface WebhookShutdown {
  /** True once `close` was called: new deliveries are answered 503 with Retry-After (the partner retries elsewhere). */
  readonly closing: boolean
  /**
   * Stops taking deliveries, waits up to `timeoutMs` (default 10 000) for those in flight to finish, then releases the
   * claims of the ones still running, so their partner's retry is handled at once by another instance instead of
   * waiting out the lease.
   */
  close(options?: { readonly timeoutMs?: number }): Promise<ShutdownReport>
}

/** One delivery in flight, from before its claim until it is settled. */
export interface InFlight {
  /** Records how to give the claim back once it is held (the pipeline's release, which never throws). */
  claimed(release: () => Later<unknown>): void
  /** Unregisters the delivery: settled, or never claimed. */
  leave(): void
}

/** The pipeline's side: register each delivery before it is claimed. */
export interface ShutdownTracker {
  readonly closing: boolean
  /** Registers a delivery about to be claimed; it stays registered until its `leave()`. */
  enter(): InFlight
}

const DEFAULT_TIMEOUT_MS = 10_000

/**
 * A shutdown switch for the webhook middlewares of one process.
 *
 * @example
 * const shutdown = webhookShutdown()
 * app.post('/webhooks/musement', musementOrderItem({ credentials, handler, shutdown }))
 * const server = app.listen(3000)
 * process.once('SIGTERM', async () => {
 *   await shutdown.close({ timeoutMs: 20_000 })
 *   server.close()
 * })
 */
export const webhookShutdown = (): WebhookShutdown & ShutdownTracker => {
  // Delivery -> how to release its claim (undefined while the claim is being asked for).
  const inFlight = new Map<object, (() => Later<unknown>) | undefined>()
  let closing = false
  let settled: () => void = () => undefined
  let finished = 0

  const enter = (): InFlight => {
    const id = {}
    inFlight.set(id, undefined)
    return {
      claimed: (release) => void (inFlight.has(id) && inFlight.set(id, release)),
      leave: () => {
        if (!inFlight.delete(id)) return
        if (closing) finished++
        if (inFlight.size === 0) settled()
      }
    }
  }

  const close = async (options: { readonly timeoutMs?: number } = {}): Promise<ShutdownReport> => {
    closing = true
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    if (inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        new Promise<void>((resolve) => (settled = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))
      ])
      clearTimeout(timer)
    }
    const left = [...inFlight.values()]
    inFlight.clear()
    await Promise.all(left.map((release) => release?.()))
    return { finished, released: left.filter((release) => release !== undefined).length }
  }

  return {
    get closing() {
      return closing
    },
    enter,
    close
  }
}

/** True for an object `webhookShutdown()` made. */
export const isShutdownTracker = (u: unknown): u is ShutdownTracker =>
  typeof u === 'object' && u !== null && 'enter' in u && typeof u.enter === 'function' && 'close' in u && typeof u.close === 'function'
