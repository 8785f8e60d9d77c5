import * as E from 'fp-ts/lib/Either.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { CrashMessage } from './crash-messages.js'
import { freePort } from './free-port.js'

/** One app instance: a port, and the process serving it until that process is killed. */
interface Instance {
  readonly index: number
  readonly port: number
  proc: Proc | undefined
  up: boolean
  /** Keys whose handler started here and whose request has not ended (per the process's messages). */
  readonly inFlight: Set<string>
}

/** An app process (spec/helpers/crash-app.ts): a spare until it is told to serve an instance's port. */
interface Proc {
  readonly child: ChildProcess
  readonly ready: Promise<void>
  isReady: boolean
  owner: Instance | undefined
  onListening: () => void
}

/** What one kill hit. */
export interface Kill {
  readonly instance: number
  /** Keys whose handler was running in the killed process (as far as its messages had told). */
  readonly inFlight: ReadonlyArray<string>
}

/** App instances on fixed localhost ports whose processes can be SIGKILLed and replaced. */
export interface CrashCluster {
  readonly ports: ReadonlyArray<number>
  /**
   * SIGKILLs the process of one serving instance, chosen by `pick` (a number in [0, 1)), and has a ready spare serve
   * its port once the kill has freed it. Returns undefined, killing nothing, when fewer than two instances are up or
   * no spare is ready yet.
   */
  kill(pick: number): Kill | undefined
  /** Resolves once every killed instance serves again. */
  restarted(): Promise<void>
  /** SIGKILLs every process, spares included, and waits until they are gone. */
  stop(): Promise<void>
}

/** Options of {@link startCluster}. */
export interface CrashClusterOptions {
  /** The bundled app, run with plain node. */
  readonly app: string
  readonly cwd: string
  readonly env: NodeJS.ProcessEnv
  readonly instances: number
  /** Processes kept started and waiting, each replaced as it is used. */
  readonly spares: number
}

/**
 * Starts `instances` app processes on free ports and `spares` more, and resolves once all are ready. Processes start
 * slowly on a busy machine, so a killed instance's port is served again by a spare as soon as the kill has freed it:
 * a new process, as a supervisor restarting the instance would start one, only without the wait.
 */
export const startCluster = async (o: CrashClusterOptions): Promise<CrashCluster> => {
  const procs: Proc[] = []
  const spawnProc = (): Proc => {
    const child = spawn(process.execPath, [o.app], { cwd: o.cwd, env: o.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    let markReady: () => void = () => undefined
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve
      child.once('exit', (code, signal) => reject(new Error(`an app process exited before it was ready (${code ?? signal})`)))
    })
    // A spare never used must not fail anything by exiting when it is killed at the end.
    ready.catch(() => undefined)
    const proc: Proc = { child, ready, isReady: false, owner: undefined, onListening: () => undefined }
    child.on('message', (raw: unknown) => {
      const m = CrashMessage.decode(raw)
      if (E.isLeft(m)) return
      if (m.right.type === 'ready') {
        proc.isReady = true
        markReady()
      } else if (m.right.type === 'listening') proc.onListening()
      else if (m.right.type === 'enter') proc.owner?.inFlight.add(m.right.key)
      else proc.owner?.inFlight.delete(m.right.key)
    })
    procs.push(proc)
    return proc
  }

  const serve = async (instance: Instance, proc: Proc): Promise<void> => {
    await proc.ready
    proc.owner = instance
    instance.proc = proc
    const listening = new Promise<void>((resolve) => (proc.onListening = resolve))
    proc.child.send({ type: 'listen', port: instance.port, instance: instance.index })
    await listening
    instance.up = true
  }

  const instances: Instance[] = []
  for (let index = 0; index < o.instances; index++) instances.push({ index, port: await freePort(), proc: undefined, up: false, inFlight: new Set() })
  const spares = Array.from({ length: o.spares }, spawnProc)
  const restarts: Array<Promise<void>> = []
  const stop = async (): Promise<void> => {
    const running = procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null)
    for (const p of running) p.child.kill('SIGKILL')
    await Promise.all(running.map((p) => once(p.child, 'exit')))
  }
  try {
    await Promise.all([...instances.map((instance) => serve(instance, spawnProc())), ...spares.map((p) => p.ready)])
  } catch (err) {
    await stop()
    throw err
  }

  const takeSpare = (): Proc | undefined => {
    const index = spares.findIndex((p) => p.isReady)
    if (index < 0) return undefined
    spares.push(spawnProc())
    return spares.splice(index, 1)[0]
  }

  const kill = (pick: number): Kill | undefined => {
    const up = instances.filter((i) => i.up)
    // Always leave one instance serving, or the partner would only meet refused connections.
    if (up.length < 2) return undefined
    const instance = up[Math.floor(pick * up.length)]
    const proc = instance?.proc
    if (instance === undefined || proc === undefined) return undefined
    const spare = takeSpare()
    if (spare === undefined) return undefined
    const inFlight = [...instance.inFlight]
    instance.inFlight.clear()
    instance.up = false
    proc.owner = undefined
    const exited = once(proc.child, 'exit')
    proc.child.kill('SIGKILL')
    // The port is free once the killed process is gone.
    restarts.push(exited.then(() => serve(instance, spare)))
    return { instance: instance.index, inFlight }
  }

  return { ports: instances.map((i) => i.port), kill, restarted: async () => void (await Promise.all(restarts)), stop }
}
