import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import * as t from 'io-ts'

// Every process the bench starts goes through here, so that one `stopAll()` ends them all: at the end of the run, on
// an error and on Ctrl-C. Children are forked with an IPC channel and exit when it closes, so even a SIGKILLed
// orchestrator leaves nothing behind.

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))

const running = new Set<ChildProcess>()

/** Forks `bench/<script>` under tsx (plus `execArgv`), from the repository root. */
export const forkBench = (script: string, args: ReadonlyArray<string>, execArgv: ReadonlyArray<string> = [], env: NodeJS.ProcessEnv = {}): ChildProcess => {
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), [...args], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx', ...execArgv],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc']
  })
  running.add(child)
  child.once('exit', () => running.delete(child))
  return child
}

/** Resolves with the first IPC message that `codec` accepts; rejects if the child exits first. */
export const nextMessage = <A>(child: ChildProcess, codec: t.Decoder<unknown, A>, what: string): Promise<A> =>
  new Promise((ok, fail) => {
    const onMessage = (message: unknown): void => {
      const decoded = codec.decode(message)
      if (decoded._tag === 'Left') return
      cleanup()
      ok(decoded.right)
    }
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup()
      fail(new Error(`${what}: the child exited (${signal ?? `code ${code}`}) before answering`))
    }
    const cleanup = (): void => {
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
  })

/** Ends one child: SIGTERM, then SIGKILL if it has not exited within 2 s. */
export const stop = async (child: ChildProcess): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000)
  await exited
  clearTimeout(timer)
}

export const stopAll = async (): Promise<void> => {
  await Promise.all([...running].map(stop))
}

/** Last resort, from a synchronous 'exit' handler. */
export const killAllNow = (): void => {
  for (const child of running) child.kill('SIGKILL')
}

const Listening = t.type({ type: t.literal('listening'), port: t.number })
const Cpu = t.type({ type: t.literal('cpu'), user: t.number, system: t.number })

/** A bench HTTP server in its own process. */
export interface BenchServer {
  readonly name: string
  readonly port: number
  /** The server process's CPU time so far, user + system, in microseconds. */
  cpu(): Promise<number>
  stop(): Promise<void>
  /** Closes the IPC channel, so the server exits by itself (normally, which lets `--cpu-prof` write its profile). */
  disconnect(): Promise<void>
}

/** Starts `bench/servers/<file>` with `args`, on a free 127.0.0.1 port, and waits until it listens. */
export const startServer = async (
  name: string,
  file: string,
  args: ReadonlyArray<string> = [],
  execArgv: ReadonlyArray<string> = [],
  env: NodeJS.ProcessEnv = {}
): Promise<BenchServer> => {
  const child = forkBench(`servers/${file}`, args, execArgv, { ...env, PORT: '0', NODE_ENV: 'production' })
  const { port } = await nextMessage(child, Listening, `${name} server`)
  return {
    name,
    port,
    cpu: async () => {
      const answer = nextMessage(child, Cpu, `${name} server`)
      child.send({ type: 'cpu' })
      const { user, system } = await answer
      return user + system
    },
    stop: () => stop(child),
    disconnect: async () => {
      const exited = once(child, 'exit')
      child.disconnect()
      await exited
    }
  }
}
