import * as t from 'io-ts'

// What the measuring child processes send the orchestrator over IPC. The parent decodes every message with these
// codecs, so a child that sends something else fails loudly instead of printing undefined figures.

/** One micro-benchmark: the median and mean time per operation, and the relative margin of error of the mean. */
export const Timing = t.type({ medianNs: t.number, meanNs: t.number, rme: t.number, samples: t.number })
export type Timing = t.TypeOf<typeof Timing>

export const DecodePair = t.type({ body: t.string, codecName: t.string, codec: Timing, ajv: Timing })
export type DecodePair = t.TypeOf<typeof DecodePair>

/**
 * One size: `codec` is io-ts's decode, `pipeline` decodeWith, `compiled` compileDecoder alone, `prepare` prepareJson
 * alone (the walk decodeWith ran before every decode until issue 16; now only on a refused body).
 */
export const DecodeSize = t.type({ items: t.number, bytes: t.number, codec: Timing, pipeline: Timing, compiled: Timing, prepare: Timing, ajv: Timing })
export type DecodeSize = t.TypeOf<typeof DecodeSize>

/** One partner's sizes: `partner` names it, `note` says what n items are (one body of n, or n bodies) and what runs. */
export const DecodeSeries = t.type({ partner: t.string, note: t.string, sizes: t.array(DecodeSize) })
export type DecodeSeries = t.TypeOf<typeof DecodeSeries>

/** `series`: About You, Musement and user-defined partners at 1 to 10,000 items. */
export const DecodeMessage = t.type({ type: t.literal('decode'), pairs: t.array(DecodePair), series: t.array(DecodeSeries) })
export type DecodeMessage = t.TypeOf<typeof DecodeMessage>

export const MemoryMessage = t.type({
  type: t.literal('memory'),
  partner: t.string,
  entries: t.number,
  /** Heap growth after forced GC, per remembered delivery, for the memory store. */
  storeBytes: t.number,
  /** The same keys in a bare `Map<key, expiry>`: the least any in-process store can take. */
  bareMapBytes: t.number,
  /** The average key length in characters. */
  keyLength: t.number,
  fillSeconds: t.number
})
export type MemoryMessage = t.TypeOf<typeof MemoryMessage>

export const RedisMessage = t.type({
  type: t.literal('redis'),
  concurrency: t.number,
  seconds: t.number,
  /** claim + complete cycles per second through redisStore. */
  storeCycles: t.number,
  /** Two plain `SET NX PX` round trips per cycle (what claim + complete cost at the least), per second. */
  baselineCycles: t.number,
  storeP50Ms: t.number,
  storeP99Ms: t.number,
  baselineP50Ms: t.number,
  baselineP99Ms: t.number
})
export type RedisMessage = t.TypeOf<typeof RedisMessage>

/** One Postgres cycle kind: cycles per second and latency. */
export const PostgresCycle = t.type({ label: t.string, cycles: t.number, p50Ms: t.number, p99Ms: t.number })
export type PostgresCycle = t.TypeOf<typeof PostgresCycle>

export const PostgresMessage = t.type({
  type: t.literal('postgres'),
  concurrency: t.number,
  seconds: t.number,
  /** The server's `synchronous_commit` for these runs: `on` waits for the WAL flush at COMMIT, `off` does not. */
  synchronousCommit: t.string,
  rows: t.array(PostgresCycle)
})
export type PostgresMessage = t.TypeOf<typeof PostgresMessage>

/** The figures of one HTTP run against one server. */
export interface HttpFigures {
  readonly rps: number
  readonly p50: number
  readonly p99: number
  /** Server CPU time (user + system) per answered request, in microseconds. */
  readonly cpuUs: number
  readonly requests: number
  readonly non2xx: number
  readonly errors: number
}
