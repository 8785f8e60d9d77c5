// Hand-off: Musement gets its 200 as soon as the delivery is on a BullMQ queue (REDIS_URL), and a worker runs the
// slow handler (2 s here) afterwards, with retries and dead letters. /admin/queues is Bull Board: waiting, active,
// failed (dead letters) and completed jobs, with a Retry button. Mount it behind your own admin authentication.
import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { ExpressAdapter } from '@bull-board/express'
import { Queue, type ConnectionOptions } from 'bullmq'
import express, { type Router } from 'express'
import { Redis } from 'ioredis'
import { setTimeout as sleep } from 'node:timers/promises'
import { bullmqHandOff, startHandOffWorker, type BullmqHandOffOptions, type HandOffHandler, type HandOffJobData } from '../lib/handoff/index.js'
import { MusementOrderItem, musementOrderItem, redisStore, type DeliveryStore, type MusementOrderItemEvent } from '../lib/index.js'
import { isMain, serve } from './serve.js'

export const QUEUE = 'musement-webhooks'
const CREDENTIALS = { username: 'musement', password: process.env.MUSEMENT_PASSWORD ?? 'change-me' }

/** The webhook route (hand-off mode) and the dashboard, on one app. */
export const createApp = (queue: Queue<HandOffJobData>, store: DeliveryStore, handOff: BullmqHandOffOptions = {}) => {
  const app = express()
  // The same store as the worker's: the middleware answers a handled delivery `duplicate` without queueing it.
  app.post('/webhooks/musement', musementOrderItem({ credentials: CREDENTIALS, store, handOff: bullmqHandOff(queue, handOff) }))
  const board = new ExpressAdapter().setBasePath('/admin/queues')
  createBullBoard({ queues: [new BullMQAdapter(queue)], serverAdapter: board })
  const dashboard: Router = board.getRouter()
  app.use('/admin/queues', dashboard)
  return app
}

/** A handler that calls a slow system: 2 s per event. */
export const slowHandler =
  (log: (line: string) => void = console.log): HandOffHandler<MusementOrderItemEvent> =>
  async (event, delivery) => {
    await sleep(2000)
    log(`handled musement order item ${event.order_item_uuid} v${event.order_item_version} (${event.order_item_status}), attempt ${delivery.attempt}`)
  }

/** The worker; in production it may run in its own process (or several), with the same store and queue name. */
export const startWorker = (connection: ConnectionOptions, store: DeliveryStore, handler: HandOffHandler<MusementOrderItemEvent> = slowHandler()) =>
  startHandOffWorker({ queue: QUEUE, connection, store, codec: MusementOrderItem, handler, concurrency: 10 })

export const banner = (port: number): string => {
  const url = `http://localhost:${port}`
  const body = `-H 'Content-Type: application/json' --data-binary @examples/payloads/musement-order-item.json ${url}/webhooks/musement`
  return [
    `musement-handoff example listening on ${url}`,
    `dashboard: ${url}/admin/queues`,
    '',
    'Musement "Update order item", answered as soon as it is queued (expect 200):',
    `  curl -i -u ${CREDENTIALS.username}:${CREDENTIALS.password} ${body}`,
    'The same again, once the worker has handled it (2 s later): a duplicate, not queued (expect 200):',
    `  curl -i -u ${CREDENTIALS.username}:${CREDENTIALS.password} ${body}`,
    'Wrong password (expect 401):',
    `  curl -i -u ${CREDENTIALS.username}:wrong ${body}`,
    ''
  ].join('\n')
}

if (isMain(import.meta.url)) {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  // Fail fast while Redis is unreachable (Musement gets 503 and retries); the worker's connections retry forever.
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
  client.on('error', (err: Error) => console.error(`redis: ${err.message}`))
  const store = redisStore({ client })
  const queue = new Queue<HandOffJobData>(QUEUE, { connection: client })
  const worker = startWorker({ url, maxRetriesPerRequest: null }, store)
  const server = serve(createApp(queue, store), banner)
  process.once('SIGTERM', () => {
    server.close()
    void worker.close().then(() => queue.close()).finally(() => client.disconnect())
  })
}
