import { execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process'
import { accessSync, chownSync, constants, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import type { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { freePort } from './free-port.js'

/** A throwaway PostgreSQL server on a free localhost port, in a temporary data directory. */
export interface TestPostgres {
  readonly port: number
  /** Connection string of the `postgres` database, as the `postgres` superuser (trust authentication, TCP only). */
  readonly url: string
  /** Creates a database and returns its connection string. */
  createDatabase(name: string): Promise<string>
  /** Shuts the server down, waits until it has exited and removes its data directory. Safe to call twice. */
  stop(): Promise<void>
}

/** Options of {@link startPostgres}. */
export interface StartPostgresOptions {
  /**
   * Keep Postgres's default durability (fsync, synchronous commit), for benchmarks. Default false: the specs never
   * crash the server itself, only its clients, so flushing to disk would only slow them down.
   */
  readonly durable?: boolean
}

const INSTALL_HINT =
  'the Postgres store specs need a PostgreSQL server: run `apt-get install -y postgresql` (Debian/Ubuntu), or set ' +
  'POSTGRES_BIN_DIR to the directory that holds initdb and postgres'

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

const versionOf = (dir: string): number => Number(/(\d+)(?:\.\d+)?/.exec(dir)?.[1] ?? 0)

// Newest first, so a machine with several majors installed (Debian keeps them side by side) uses the latest.
const versionedDirs = (parent: string, pattern: RegExp, bin: (entry: string) => string): string[] =>
  existsSync(parent)
    ? readdirSync(parent)
        .filter((entry) => pattern.test(entry))
        .sort((a, b) => versionOf(b) - versionOf(a))
        .map(bin)
    : []

/**
 * Where initdb and postgres live: POSTGRES_BIN_DIR, then PATH, then the layouts of the Debian/Ubuntu packages
 * (which keep them off PATH, one directory per major version), the PGDG RPMs and a source build.
 */
export const postgresBinDir = (): string => {
  const candidates = [
    ...(process.env.POSTGRES_BIN_DIR === undefined ? [] : [process.env.POSTGRES_BIN_DIR]),
    ...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''),
    ...versionedDirs('/usr/lib/postgresql', /^\d+$/, (v) => `/usr/lib/postgresql/${v}/bin`),
    ...versionedDirs('/usr', /^pgsql-\d+$/, (v) => `/usr/${v}/bin`),
    '/usr/local/pgsql/bin'
  ]
  const found = candidates.find((dir) => executable(join(dir, 'initdb')) && executable(join(dir, 'postgres')))
  if (found === undefined) throw new Error(`initdb and postgres not found: ${INSTALL_HINT}`)
  return found
}

interface Account {
  readonly uid: number
  readonly gid: number
}

// initdb and postgres refuse to run as root (the server must not own the machine), so under root (CI) both run as
// the `postgres` account that the Debian package creates, or as `nobody` where there is none.
const serverAccount = (): Account | undefined => {
  if (process.getuid?.() !== 0) return undefined
  for (const name of ['postgres', 'nobody']) {
    try {
      const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim())
      return { uid: id('-u'), gid: id('-g') }
    } catch {
      // No such account; try the next.
    }
  }
  throw new Error('running as root, and neither a `postgres` nor a `nobody` account exists to run the server as')
}

interface Launched {
  readonly child: ChildProcessByStdio<null, Readable, Readable>
  readonly exited: Promise<number | null>
  readonly output: () => string
}

const launch = (command: string, args: ReadonlyArray<string>, cwd: string, account: Account | undefined): Launched => {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' }, ...account })
  let output = ''
  const collect = (chunk: Buffer) => void (output = (output + chunk.toString()).slice(-4000))
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  const exited = new Promise<number | null>((ok) => {
    child.once('exit', (code) => ok(code))
    child.once('error', (err) => {
      output += `\n${err.message}`
      ok(-1)
    })
  })
  return { child, exited, output: () => output }
}

const answering = async (url: string, server: Launched): Promise<void> => {
  for (let waited = 0; ; waited += 50) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 })
    client.on('error', () => undefined)
    try {
      await client.connect()
      await client.query('SELECT 1')
      return
    } catch {
      if (server.child.exitCode !== null) throw new Error(`postgres exited with ${server.child.exitCode} before accepting connections:\n${server.output()}`)
      if (waited > 20_000) throw new Error(`postgres did not accept connections within 20 s:\n${server.output()}`)
    } finally {
      await client.end().catch(() => undefined)
    }
    await sleep(50)
  }
}

const terminate = async ({ child, exited }: Launched): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  // SIGQUIT is Postgres's "immediate" shutdown: sessions end at once and no checkpoint is written, which is all a
  // data directory about to be deleted needs.
  child.kill('SIGQUIT')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

// initdb takes seconds (most of a server's start-up), so one cluster per process is made and copied per server.
let template: Promise<string> | undefined

const initTemplate = async (bin: string, account: Account | undefined): Promise<string> => {
  const dir = mkdtempSync(join(tmpdir(), 'epw-postgres-template-'))
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  if (account !== undefined) chownSync(dir, account.uid, account.gid)
  const data = join(dir, 'data')
  const initdb = launch(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-sync'], dir, account)
  if ((await initdb.exited) !== 0) throw new Error(`initdb failed:\n${initdb.output()}`)
  return data
}

// Copied as the server's account, so the files keep the owner and the 0700 mode postgres insists on.
const copyTemplate = async (bin: string, account: Account | undefined, dir: string): Promise<string> => {
  template ??= initTemplate(bin, account)
  const data = join(dir, 'data')
  const copy = launch('cp', ['-R', '-p', await template, data], dir, account)
  if ((await copy.exited) !== 0) throw new Error(`copying the template cluster failed:\n${copy.output()}`)
  return data
}

/**
 * Starts `postgres` on a free 127.0.0.1 port (no Unix socket) with a fresh cluster in a temporary directory, and
 * resolves once it accepts connections. Fails (never skips) when PostgreSQL is not installed, because the Postgres
 * store must be tested against a real server.
 */
export const startPostgres = async (options: StartPostgresOptions = {}): Promise<TestPostgres> => {
  const bin = postgresBinDir()
  const account = serverAccount()
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'epw-postgres-'))
  if (account !== undefined) chownSync(dir, account.uid, account.gid)
  let server: Launched | undefined
  // If mocha exits or crashes first, the server must not outlive it. SIGQUIT is the immediate shutdown.
  const killOnExit = () => {
    server?.child.kill('SIGQUIT')
    rmSync(dir, { recursive: true, force: true })
  }
  process.once('exit', killOnExit)
  const stop = async () => {
    process.removeListener('exit', killOnExit)
    if (server !== undefined) await terminate(server)
    rmSync(dir, { recursive: true, force: true })
  }

  try {
    const data = await copyTemplate(bin, account, dir)
    const speed = options.durable === true ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
    const settings = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300', ...speed]
    server = launch(join(bin, 'postgres'), ['-D', data, '-p', String(port), ...settings], dir, account)
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`
    await answering(url, server)
    const createDatabase = async (name: string): Promise<string> => {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`)
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      try {
        await client.query(`CREATE DATABASE ${name}`)
      } finally {
        await client.end()
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`
    }
    return { port, url, createDatabase, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
