// A webhook app in its own process, for the shutdown spec: Musement on a Redis store shared with its sibling, a
// handler that takes HANDLER_MS, and the SIGTERM handling the README recommends. It prints one line per event it
// handled (`handled <key>`), and `closed <json report>` once drained.
import express from 'express'
import { Redis } from 'ioredis'
import { setTimeout as sleep } from 'node:timers/promises'
import { musementOrderItem, redisStore, webhookShutdown } from '../../lib/index.js'

const handlerMs = Number(process.env.HANDLER_MS ?? 20)
const client = new Redis(process.env.REDIS_URL ?? '', { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
const shutdown = webhookShutdown()
const app = express()
app.post(
  '/webhooks/musement',
  musementOrderItem({
    credentials: { username: 'musement', password: 'secret' },
    store: redisStore({ client, prefix: process.env.PREFIX ?? 'shutdown:' }),
    leaseMs: 60_000,
    shutdown,
    handler: async (_event, _req, _res, delivery) => {
      await sleep(handlerMs)
      process.stdout.write(`handled ${delivery.key}\n`)
    }
  })
)
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address()
  process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : 0}\n`)
})
process.once('SIGTERM', async () => {
  const report = await shutdown.close({ timeoutMs: Number(process.env.DRAIN_MS ?? 2000) })
  process.stdout.write(`closed ${JSON.stringify(report)}\n`)
  server.close()
  server.closeAllConnections()
  client.disconnect()
  // Handlers released at the deadline may still hold timers; what they would do next is another instance's now.
  process.exit(0)
})
