import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from './free-port.js'

/** A throwaway `redis-server` on a free localhost port, with no persistence unless asked for. */
export interface TestRedis {
  readonly port: number
  readonly url: string
  /** Freezes the server (SIGSTOP): connections stay open but nothing is answered, like a hung Redis. */
  pause(): void
  /** Undoes {@link TestRedis.pause}. */
  resume(): void
  /** Shuts the server down (an outage) and waits until it has exited; {@link TestRedis.up} brings it back. */
  down(): Promise<void>
  /** Starts the server again on the same port after {@link TestRedis.down}; resolves once it answers PING. */
  up(): Promise<void>
  /** Terminates the server for good, waits until it has exited and removes its data directory. Safe to call twice. */
  stop(): Promise<void>
}

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /**
   * Keep the data across `down()`/`up()`: an append-only file fsynced on every write (so every acknowledged write
   * survives), in a temporary directory that `stop()` removes. Default false: nothing is written to disk.
   */
  readonly persist?: boolean
}

const INSTALL_HINT = 'the Redis store specs need a real redis-server on PATH: run `apt-get install -y redis-server` (Debian/Ubuntu)'

// A raw PING, not an ioredis client, so a server that is still starting does not leave a reconnect loop behind.
const ping = (port: number): Promise<boolean> =>
  new Promise((ok) => {
    const socket = createConnection({ port, host: '127.0.0.1' })
    const done = (answer: boolean) => (socket.destroy(), ok(answer))
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (chunk) => done(chunk.toString('latin1').startsWith('+PONG')))
  })

/** One redis-server process. */
interface Launched {
  readonly child: ChildProcessByStdio<null, Readable, Readable>
  readonly exited: Promise<void>
  readonly output: () => string
  readonly failure: () => Error | undefined
}

const launch = (args: ReadonlyArray<string>): Launched => {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const collect = (chunk: Buffer) => void (output = (output + chunk.toString()).slice(-4000))
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()))
  let failure: Error | undefined
  child.once('error', (err: NodeJS.ErrnoException) => {
    failure = err.code === 'ENOENT' ? new Error(`redis-server not found: ${INSTALL_HINT}`) : err
  })
  return { child, exited, output: () => output, failure: () => failure }
}

const terminate = async ({ child, exited }: Launched): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  child.kill('SIGCONT')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
  await exited
  clearTimeout(timer)
}

const answering = async (port: number, server: Launched): Promise<void> => {
  for (let waited = 0; !(await ping(port)); waited += 25) {
    const failure = server.failure()
    if (failure !== undefined) throw failure
    if (server.child.exitCode !== null) throw new Error(`redis-server exited with ${server.child.exitCode} before answering PING:\n${server.output()}`)
    if (waited > 10_000) throw new Error(`redis-server did not answer PING on port ${port} within 10 s:\n${server.output()}`)
    await sleep(25)
  }
}

/**
 * Starts `redis-server` on a free port and resolves once it answers PING. Fails (never skips) when redis-server is
 * not installed, because the Redis store must be tested against a real server.
 */
export const startRedis = async (options: StartRedisOptions = {}): Promise<TestRedis> => {
  const port = await freePort()
  const dir = options.persist === true ? mkdtempSync(join(tmpdir(), 'epw-redis-')) : undefined
  const storage = dir === undefined ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir]
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...storage]
  let server = launch(args)
  let stopped = false
  // If mocha exits or crashes first, the server must not outlive it.
  const killOnExit = () => void server.child.kill('SIGKILL')
  process.once('exit', killOnExit)

  const stop = async () => {
    stopped = true
    process.removeListener('exit', killOnExit)
    await terminate(server)
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  }

  const up = async () => {
    if (stopped) throw new Error('redis-server was stopped for good; start a new one')
    if (server.child.exitCode === null && server.child.signalCode === null) throw new Error('redis-server is already up')
    server = launch(args)
    await answering(port, server).catch(async (err: unknown) => {
      await terminate(server)
      throw err
    })
  }

  try {
    await answering(port, server)
  } catch (err) {
    await stop()
    throw err
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pause: () => void server.child.kill('SIGSTOP'),
    resume: () => void server.child.kill('SIGCONT'),
    down: () => terminate(server),
    up,
    stop
  }
}
