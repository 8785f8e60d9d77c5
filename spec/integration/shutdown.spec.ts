import { expect } from 'chai'
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import type { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { basicAuthHeader, musementOrderItemFixture, partnerDelivery, sendDelivery, simulatePartner } from '../../lib/testing/index.js'
import { musementOrderItem } from '../../lib/index.js'
import { startRedis, type TestRedis } from '../helpers/redis-server.js'

// Issue 15: a rolling deploy loses nothing and leaves no lease to wait out. Two instances share a real Redis; one gets
// SIGTERM under load, stops taking deliveries (503), lets its in-flight handlers finish, and exits.

const APP = fileURLToPath(new URL('../helpers/shutdown-app.ts', import.meta.url))
const SECRET = { username: 'musement', password: 'secret' }

interface Instance {
  readonly child: ChildProcessByStdio<null, Readable, Readable>
  readonly port: number
  readonly lines: string[]
  readonly exited: Promise<number | null>
}

const start = async (env: Record<string, string>): Promise<Instance> => {
  const child = spawn(process.execPath, ['--import', 'tsx', APP], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  let buffer = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk
    const parts = buffer.split('\n')
    buffer = parts.pop() ?? ''
    lines.push(...parts)
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  for (let waited = 0; !lines.some((l) => l.startsWith('listening ')); waited += 20) {
    if (waited > 20_000) throw new Error('the app did not start')
    await sleep(20)
  }
  const port = Number(lines.find((l) => l.startsWith('listening '))?.split(' ')[1])
  return { child, port, lines, exited }
}

const handledKeys = (instances: ReadonlyArray<Instance>): string[] =>
  instances.flatMap((i) => i.lines.filter((l) => l.startsWith('handled ')).map((l) => l.slice('handled '.length)))

const reportOf = (i: Instance): unknown => JSON.parse(i.lines.find((l) => l.startsWith('closed '))?.slice('closed '.length) ?? 'null')

describe('integration/shutdown (SIGTERM under load)', function () {
  this.timeout(60_000)
  let redis: TestRedis
  const running: Instance[] = []

  before(async () => {
    redis = await startRedis()
  })
  after(async () => {
    for (const i of running) i.child.kill('SIGKILL')
    await redis.stop()
  })

  it('drains in-flight deliveries, answers new ones 503 meanwhile, and loses or repeats none', async () => {
    const env = { REDIS_URL: redis.url, HANDLER_MS: '40', PREFIX: 'drain:' }
    const [a, b] = [await start(env), await start(env)]
    running.push(a, b)
    const deliveries = Array.from({ length: 300 }, (_, i) => ({
      path: '/webhooks/musement',
      body: musementOrderItemFixture({ order_item_uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` }),
      headers: { Authorization: basicAuthHeader(SECRET.username, SECRET.password) }
    }))
    const statuses = new Map<number, number>()
    const run = simulatePartner({
      targets: [`http://127.0.0.1:${a.port}`, `http://127.0.0.1:${b.port}`],
      deliveries,
      concurrency: 16,
      maxAttempts: 200,
      retryDelayMs: () => 20,
      deadlineMs: 45_000,
      seed: 5,
      onAnswer: (answer) => void statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
    })
    await sleep(400)
    a.child.kill('SIGTERM')
    const report = await run
    expect(await a.exited).to.equal(0)
    expect(report.undelivered).to.deep.equal([])
    const keys = handledKeys([a, b])
    expect(new Set(keys).size, 'every event handled').to.equal(300)
    expect(keys.length, 'none handled twice').to.equal(300)
    expect(reportOf(a)).to.deep.include({ released: 0 })
    expect(handledKeys([a]).length, 'instance A handled some before it stopped').to.be.greaterThan(0)
    console.log(`      [shutdown] ${report.attempts} attempts, statuses ${JSON.stringify([...statuses])}, A handled ${handledKeys([a]).length}, drain report ${JSON.stringify(reportOf(a))}`)
  })

  it('releases a delivery still running at the deadline, so the retry is handled at once elsewhere (no lease to wait out)', async () => {
    const slow = await start({ REDIS_URL: redis.url, HANDLER_MS: '30000', DRAIN_MS: '300', PREFIX: 'release:' })
    const fast = await start({ REDIS_URL: redis.url, HANDLER_MS: '10', PREFIX: 'release:' })
    running.push(slow, fast)
    const delivery = partnerDelivery(musementOrderItem, { path: '/webhooks/musement', body: musementOrderItemFixture(), secret: SECRET })
    const first = sendDelivery(`http://127.0.0.1:${slow.port}`, delivery).catch(() => undefined)
    await sleep(300)
    // While the slow instance works, a copy elsewhere is held off (the lease is 60 s).
    expect((await sendDelivery(`http://127.0.0.1:${fast.port}`, delivery)).status).to.equal(409)
    slow.child.kill('SIGTERM')
    expect(await slow.exited).to.equal(0)
    void first
    expect(reportOf(slow)).to.deep.equal({ finished: 0, released: 1 })
    const retry = await sendDelivery(`http://127.0.0.1:${fast.port}`, delivery)
    expect([retry.status, retry.json]).to.deep.equal([200, { status: 'processed' }])
  })
})
