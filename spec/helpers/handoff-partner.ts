// The partner of spec/integration/handoff-chaos.spec.ts, in a process of its own: a real partner is another
// machine, and in the test process its timing would include that process's own pauses (the heap of a whole
// mocha run). Started with fork(): it gets a `run` message, sends every event 1-3 times, shuffled, a few at a
// time, each with the partner's timeout, reports every answer and exits.
import * as E from 'fp-ts/lib/Either.js'
import { Agent, request as httpRequest } from 'node:http'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { PartnerRun, type PartnerAnswer } from './handoff-children.js'
import { mulberry32, type SimEvent } from './simulated-partner.js'

const run = async (port: number, events: ReadonlyArray<SimEvent>, seed: number, lanes: number, timeoutMs: number) => {
  const agent = new Agent({ keepAlive: true, maxSockets: lanes })
  /** One POST with the timeout (for the whole exchange): status 0 when the answer was not complete in time. */
  const post = (e: SimEvent): Promise<PartnerAnswer> =>
    new Promise((resolve) => {
      const started = performance.now()
      const payload = Buffer.from(e.body)
      let timer: NodeJS.Timeout | undefined
      const done = (status: number, body: string) => {
        clearTimeout(timer)
        resolve({ key: e.key, status, body, ms: performance.now() - started })
      }
      const headers = { ...e.headers, 'Content-Type': 'application/json', 'Content-Length': payload.length }
      const req = httpRequest({ host: '127.0.0.1', port, path: e.path, method: 'POST', agent, headers }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => done(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')))
        res.on('error', () => done(0, ''))
      })
      // Like a partner's HTTP client: the whole answer within the timeout, or the request is abandoned (and retried).
      timer = setTimeout(() => {
        req.destroy()
        done(0, '')
      }, timeoutMs)
      req.on('error', () => done(0, ''))
      req.end(payload)
    })

  const rng = mulberry32(seed ^ 0x5eed)
  const copies = events.flatMap((e) => Array.from({ length: 1 + Math.floor(rng() * 3) }, () => e))
  for (let i = copies.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1))
    const [a, b] = [copies[i], copies[j]]
    if (a !== undefined && b !== undefined) [copies[i], copies[j]] = [b, a]
  }
  const pauses = copies.map(() => Math.floor(rng() * 25))
  const answers: PartnerAnswer[] = []
  let next = 0
  // A delivery not answered 200 in time is sent again, at most 5 times, as a partner would.
  const lane = async (): Promise<void> => {
    for (let i = next++; i < copies.length; i = next++) {
      const e = copies[i]
      if (e === undefined) continue
      await sleep(pauses[i] ?? 0)
      for (let attempt = 1; attempt <= 5; attempt++) {
        const answer = await post(e)
        answers.push(answer)
        if (answer.status === 200) break
        await sleep(50)
      }
    }
  }
  const loopDelay = monitorEventLoopDelay({ resolution: 10 })
  loopDelay.enable()
  await Promise.all(Array.from({ length: lanes }, lane))
  loopDelay.disable()
  agent.destroy()
  return { deliveries: copies.length, answers, loopDelayMaxMs: loopDelay.max / 1e6 }
}

process.once('message', (message: unknown) => {
  const decoded = PartnerRun.decode(message)
  if (E.isLeft(decoded)) {
    process.stderr.write('handoff-partner: expected a run message\n')
    process.exit(1)
  }
  const { port, events, seed, lanes, timeoutMs } = decoded.right
  run(port, events, seed, lanes, timeoutMs).then(
    (report) => process.send?.({ type: 'report', ...report }, () => process.exit(0)),
    (err: unknown) => {
      process.stderr.write(`handoff-partner: ${String(err)}\n`)
      process.exit(1)
    }
  )
})
process.on('disconnect', () => process.exit(0))
