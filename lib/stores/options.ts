
/**
 * How long a done key (and a scope's version high-water mark) is remembered by default: 72 h. About You retries
 * hourly for 48 h and Musement resends until it gets a 200, so a window shorter than the longest retry schedule
 * would let a late retry of a handled delivery run the handler again. 72 h leaves a day of margin for a partner's
 * own outage or backlog.
 */
export const DEFAULT_RETENTION_MS = 72 * 60 * 60 * 1000

/**
 * The lease length a caller passed to `claim`. A bad one is a programming error, not an outage, but the interface
 * can only reject, so the rejection is a TypeError that says so. Rounded up to whole ms (Redis `PX` needs an integer).
 */
export const leaseLength = (factory: string, leaseMs: number): number => {
  if (!Number.isFinite(leaseMs) || leaseMs <= 0) {
    throw new TypeError(`${factory}: claim(delivery, leaseMs) needs a positive, finite leaseMs, got ${leaseMs}`)
  }
  return Math.ceil(leaseMs)
}

/** The version a completion raises the high-water mark to. NaN or Infinity would poison that max() for good, so no. */
export const markVersion = (factory: string, version: number | undefined): number | undefined => {
  if (version !== undefined && !Number.isFinite(version)) {
    throw new TypeError(`${factory}: complete(delivery, token) needs a finite delivery.version or none, got ${version}`)
  }
  return version
}
