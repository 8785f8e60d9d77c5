// Several instances behind a load balancer: one Redis (REDIS_URL) records which deliveries are claimed and done, so
// each is handled once whichever instance it reaches, and still once after a restart.
import express from 'express'
import { Redis } from 'ioredis'
import { musementOrderItem, redisStore, type MusementOrderItemEvent, type RedisScriptClient } from '../lib/index.js'
import { isMain, serve } from './serve.js'

export const createApp = (client: RedisScriptClient, onEvent: (event: MusementOrderItemEvent) => void = console.log) => {
  const app = express()
  app.post(
    '/webhooks/musement',
    musementOrderItem({
      credentials: { username: 'musement', password: process.env.MUSEMENT_PASSWORD ?? 'change-me' },
      // Every instance must use the same prefix (here the default, `epw:`) to see the others' deliveries.
      store: redisStore({ client }),
      handler: async (event) => {
        onEvent(event)
      }
    })
  )
  return app
}

if (isMain(import.meta.url)) {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  // No offline queue: while Redis is unreachable a claim fails at once and Musement gets a 503 and retries later,
  // rather than each request waiting for a reconnect.
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
  client.on('error', (err: Error) => console.error(`redis: ${err.message}`))
  serve(createApp(client), (port) => `musement-redis example on http://localhost:${port}/webhooks/musement, store: Redis at ${new URL(url).host}`)
}
