import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createConnection, createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** A throwaway `redis-server` on a free localhost port, with no persistence. */
export interface TestRedis {
  readonly port: number
  readonly url: string
  /** Freezes the server (SIGSTOP): connections stay open but nothing is answered, like a hung Redis. */
  pause(): void
  /** Undoes {@link TestRedis.pause}. */
  resume(): void
  /** Terminates the server and waits until it has exited. Safe to call twice. */
  stop(): Promise<void>
}

const INSTALL_HINT = 'the Redis store specs need a real redis-server on PATH: run `apt-get install -y redis-server` (Debian/Ubuntu)'

const freePort = async (): Promise<number> => {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  await once(server, 'close')
  if (address === null || typeof address === 'string') throw new Error('could not find a free port')
  return address.port
}

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

/**
 * Starts `redis-server` on a free port and resolves once it answers PING. Fails (never skips) when redis-server is
 * not installed, because the Redis store must be tested against a real server.
 */
export const startRedis = async (): Promise<TestRedis> => {
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  const collect = (chunk: Buffer) => void (output = (output + chunk.toString()).slice(-4000))
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()))
  let failure: Error | undefined
  child.once('error', (err: NodeJS.ErrnoException) => {
    failure = err.code === 'ENOENT' ? new Error(`redis-server not found: ${INSTALL_HINT}`) : err
  })
  // If mocha exits or crashes first, the server must not outlive it.
  const killOnExit = () => void child.kill('SIGKILL')
  process.once('exit', killOnExit)

  const stop = async () => {
    process.removeListener('exit', killOnExit)
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
    child.kill('SIGCONT')
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
    await exited
    clearTimeout(timer)
  }

  const giveUp = async (reason: Error): Promise<never> => {
    await stop()
    throw reason
  }
  for (let waited = 0; !(await ping(port)); waited += 25) {
    if (failure !== undefined) return giveUp(failure)
    if (child.exitCode !== null) return giveUp(new Error(`redis-server exited with ${child.exitCode} before answering PING:\n${output}`))
    if (waited > 10_000) return giveUp(new Error(`redis-server did not answer PING on port ${port} within 10 s:\n${output}`))
    await sleep(25)
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    stop
  }
}
