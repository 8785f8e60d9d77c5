import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { setPriority } from 'node:os'
import { fileURLToPath } from 'node:url'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import type { Redis } from 'ioredis'

// The parent's side of spec/helpers/handoff-worker.ts: its configuration, its ledger, and starting and ending it.

/** How the worker's handler behaves: `chaos` sleeps and fails by the seed; `hang` never returns; `die-after-complete` SIGKILLs itself once a completion is recorded. */
export const WorkerConfig = t.intersection([
  t.type({
    redisUrl: t.string,
    storePrefix: t.string,
    /** The Redis list the handlers write to. */
    ledger: t.string,
    queues: t.type({ musement: t.string, aboutyou: t.union([t.string, t.null]) }),
    mode: t.keyof({ chaos: null, hang: null, 'die-after-complete': null }),
    seed: t.number,
    leaseMs: t.number,
    concurrency: t.number
  }),
  t.partial({
    lockDuration: t.number,
    stalledInterval: t.number,
    maxStalledCount: t.number,
    failureRate: t.number,
    maxDelayMs: t.number,
    /** Only a key's first `failingCalls` calls may fail, so a replay of a dead letter succeeds. */
    failingCalls: t.number,
    /** Keys whose every call fails until the key `<ledger>:replaying` exists: dead letters for sure. */
    doomed: t.array(t.string)
  })
])
export type WorkerConfig = t.TypeOf<typeof WorkerConfig>

/** Where the web process of the chaos test finds Redis and its queues, and the jobs' retry policy. */
export const AppConfig = t.type({
  redisUrl: t.string,
  storePrefix: t.string,
  queues: t.type({ musement: t.string, aboutyou: t.string }),
  attempts: t.number,
  backoffMs: t.number
})
export type AppConfig = t.TypeOf<typeof AppConfig>

const SimEventCodec = t.intersection([
  t.type({ key: t.string, path: t.string, body: t.string, headers: t.record(t.string, t.string) }),
  t.partial({ item: t.type({ uuid: t.string, version: t.number }) })
])

/** What the partner process is asked to do. */
export const PartnerRun = t.type({
  type: t.literal('run'),
  port: t.number,
  events: t.array(SimEventCodec),
  seed: t.number,
  lanes: t.number,
  timeoutMs: t.number
})
export type PartnerRun = t.TypeOf<typeof PartnerRun>

const PartnerAnswer = t.type({ key: t.string, status: t.number, body: t.string, ms: t.number })
/** One answer the partner got: status 0 when none came within its timeout. */
export type PartnerAnswer = t.TypeOf<typeof PartnerAnswer>

const PartnerReport = t.type({ type: t.literal('report'), deliveries: t.number, answers: t.array(PartnerAnswer), loopDelayMaxMs: t.number })
/** What the partner process saw: the copies it sent, every answer, and how far its own event loop lagged. */
export type PartnerReport = t.TypeOf<typeof PartnerReport>

/** One line of the ledger: a handler call started, failed or handled the event; a completion was recorded. */
export const LedgerEntry = t.intersection([
  t.type({ kind: t.keyof({ start: null, failed: null, handled: null, completed: null }), key: t.string, pid: t.number, call: t.number }),
  t.partial({ item: t.string, version: t.number, stale: t.boolean, jobId: t.string, attempt: t.number })
])
export type LedgerEntry = t.TypeOf<typeof LedgerEntry>

/** The ledger in the order Redis received the lines. */
export const readLedger = async (client: Redis, ledger: string): Promise<LedgerEntry[]> =>
  (await client.lrange(ledger, 0, -1)).map((line) => {
    const entry = LedgerEntry.decode(JSON.parse(line))
    if (E.isLeft(entry)) throw new Error(`not a ledger line: ${line}`)
    return entry.right
  })

/** A running worker process. */
export interface WorkerChild {
  readonly pid: number
  readonly child: ChildProcess
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>
  /** Asks it to close its workers (by closing the IPC channel) and waits; SIGKILL after 5 s. */
  stop(): Promise<void>
}

const Ready = t.type({ type: t.literal('ready'), pid: t.number })
const Listening = t.type({ type: t.literal('listening'), port: t.number })
const WORKER_SCRIPT = fileURLToPath(new URL('./handoff-worker.ts', import.meta.url))
const APP_SCRIPT = fileURLToPath(new URL('./handoff-app.ts', import.meta.url))
const PARTNER_SCRIPT = fileURLToPath(new URL('./handoff-partner.ts', import.meta.url))
const running = new Set<ChildProcess>()
// If mocha ends or crashes first, no worker outlives it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

const gone = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit').then(() => undefined)

/** Forks `script` under tsx with `env`, and resolves with the first IPC message `codec` accepts. */
const start = async <A>(script: string, env: NodeJS.ProcessEnv, codec: t.Decoder<unknown, A>, what: string, nice = 0): Promise<{ child: ChildProcess; first: A }> => {
  const child = fork(script, [], { execArgv: ['--import', 'tsx'], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  if (nice !== 0 && child.pid !== undefined) setPriority(child.pid, nice)
  running.add(child)
  child.once('exit', () => running.delete(child))
  const first = await new Promise<A>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not get ready within 30 s`)), 30_000)
    child.on('message', (m: unknown) => {
      const decoded = codec.decode(m)
      if (E.isRight(decoded)) {
        clearTimeout(timer)
        resolve(decoded.right)
      }
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${what} exited (${signal ?? code}) before it was ready`))
    })
  })
  return { child, first }
}

const handle = (child: ChildProcess) => ({
  kill: async () => {
    child.kill('SIGKILL')
    await gone(child)
  },
  stop: async () => {
    if (child.connected) child.disconnect()
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await gone(child)
    clearTimeout(timer)
  }
})

/**
 * Forks a worker process and resolves once its workers are connected. `nice` (0 to 19) lowers its CPU priority, for
 * a worker that shares the machine with a web process whose answer times are measured.
 */
export const forkWorker = async (config: WorkerConfig, nice = 0): Promise<WorkerChild> => {
  const { child, first } = await start(WORKER_SCRIPT, { WORKER_CONFIG: JSON.stringify(config) }, Ready, 'the worker process', nice)
  return { pid: first.pid, child, ...handle(child) }
}

/** A running web process. */
export interface AppChild {
  readonly port: number
  readonly child: ChildProcess
  stop(): Promise<void>
}

/** Forks the chaos test's web process and resolves once it listens. */
export const forkApp = async (config: AppConfig): Promise<AppChild> => {
  const { child, first } = await start(APP_SCRIPT, { APP_CONFIG: JSON.stringify(config) }, Listening, 'the web process')
  return { port: first.port, child, stop: handle(child).stop }
}

/** Runs the partner in a process of its own and resolves with its report once it is done. */
export const runPartnerProcess = async (run: Omit<PartnerRun, 'type'>): Promise<PartnerReport> => {
  const child = fork(PARTNER_SCRIPT, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  running.add(child)
  child.once('exit', () => running.delete(child))
  const report = new Promise<PartnerReport>((resolve, reject) => {
    child.on('message', (m: unknown) => {
      const decoded = PartnerReport.decode(m)
      if (E.isRight(decoded)) resolve(decoded.right)
    })
    child.once('exit', (code, signal) => reject(new Error(`the partner process exited (${signal ?? code}) without a report`)))
  })
  child.send({ type: 'run', ...run })
  try {
    return await report
  } finally {
    await handle(child).stop()
  }
}
