import { expect } from 'chai'
import type { Worker } from 'bullmq'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import type { Server } from 'node:http'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'
import type { Redis } from 'ioredis'
import { createApp, QUEUE, startWorker } from '../../examples/musement-handoff.js'
import { handOffJobId } from '../../lib/handoff/job.js'
import { redisStore } from '../../lib/stores/redis.js'
import { basicAuthHeader, musementOrderItemExample } from '../../lib/testing/index.js'
import { connectClient, handOffQueue, waitFor, workerConnection } from '../helpers/handoff.js'
import { startRedis, type TestRedis } from '../helpers/redis-server.js'

// What an operator sees: the hand-off example's dashboard (Bull Board), opened in a real headless Chromium (Debian's
// package; `.ci/run` installs it), shows a dead letter, and its Retry all button puts the job back for the worker.

const CHROMIUM = '/usr/bin/chromium'
// No background traffic: this machine has no network but 127.0.0.1, and Chromium's own calls home would only fail.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]
const FAILURE = 'the order service is down'
const JOB_ID = handOffJobId('musement', `musement:${musementOrderItemExample.order_item_uuid}:${musementOrderItemExample.order_item_version}`)

describe('browser: the hand-off dashboard (examples/musement-handoff.ts, Bull Board in Chromium)', function () {
  this.timeout(60_000)
  let redis: TestRedis | undefined
  let client: Redis | undefined
  let server: Server | undefined
  let worker: Worker | undefined
  let context: BrowserContext | undefined
  let profile = ''
  const state = { failing: true, handled: 0 }

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: run \`apt-get install -y chromium\` (.ci/run does)`)
    redis = await startRedis()
    client = await connectClient(redis.url)
    const store = redisStore({ client })
    const queue = handOffQueue(QUEUE, client)
    // One attempt, so the first failure is a dead letter at once.
    const app = createApp(queue, store, { attempts: 1 })
    worker = startWorker(workerConnection(redis.url), store, () => {
      if (state.failing) throw new Error(FAILURE)
      state.handled++
    })
    server = app.listen(0, '127.0.0.1')
    await once(server, 'listening')
    profile = await mkdtemp(join(tmpdir(), 'epw-chromium-'))
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
  })

  after(async () => {
    await context?.close()
    if (profile !== '') await rm(profile, { recursive: true, force: true })
    server?.closeAllConnections()
    server?.close()
    await worker?.close()
    client?.disconnect()
    await redis?.stop()
  })

  const base = (): string => {
    const address = server?.address()
    if (typeof address !== 'object' || address === null) throw new Error('the example app is not listening')
    return `http://127.0.0.1:${address.port}`
  }

  it('shows a delivery whose handler failed as a failed job with its reason, and Retry all (confirmed) hands it to the worker again', async () => {
    if (client === undefined || context === undefined) return expect.fail('set-up failed')
    const queue = handOffQueue(QUEUE, client)
    const res = await fetch(`${base()}/webhooks/musement`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: basicAuthHeader('musement', 'change-me') },
      body: JSON.stringify(musementOrderItemExample)
    })
    expect([res.status, await res.json()]).to.deep.equal([200, { status: 'queued' }])
    await waitFor('the dead letter', async () => ((await queue.getFailedCount()) === 1 ? true : undefined))

    const page = await context.newPage()
    await page.goto(`${base()}/admin/queues/queue/${QUEUE}?status=failed`)
    await page.getByText(FAILURE).first().waitFor()
    await page.getByText(JOB_ID).first().waitFor()
    expect(await page.locator('body').innerText()).to.include(JOB_ID).and.to.include(FAILURE)

    state.failing = false
    await page.getByRole('button', { name: 'Retry all' }).click()
    await page.getByText('Are you sure that you want to retry all failed jobs?').waitFor()
    await page.getByRole('button', { name: 'Confirm' }).click()
    // Read once completed (a Job fetched earlier keeps that moment's return value).
    const job = await waitFor('the retried job to complete', async () => ((await queue.getJobState(JOB_ID)) === 'completed' ? queue.getJob(JOB_ID) : undefined))
    expect([await job.getState(), job.returnvalue, state.handled, await queue.getFailedCount()]).to.deep.equal(['completed', 'processed', 1, 0])
    await page.goto(`${base()}/admin/queues/queue/${QUEUE}?status=completed`)
    await page.getByText(JOB_ID).first().waitFor()
    await queue.close()
  })
})
