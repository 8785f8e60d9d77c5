// The web process of spec/integration/handoff-chaos.spec.ts: both partners' routes in hand-off mode, in a process of
// their own, as in production (the partner's answers then do not wait on the test's own event loop). Started with
// fork(): APP_CONFIG says where Redis and the queues are; it reports its port over IPC and exits with its parent.
import * as E from 'fp-ts/lib/Either.js'
import { once } from 'node:events'
import { bullmqHandOff } from '../../lib/handoff/bullmq.js'
import { ABOUT_YOU_EVENT_NAMES } from '../../lib/partners/aboutyou/codec.js'
import { aboutYouShipment } from '../../lib/partners/aboutyou/middleware.js'
import { musementOrderItem } from '../../lib/partners/musement/middleware.js'
import { redisStore } from '../../lib/stores/redis.js'
import { express } from './express.js'
import { connectClient, handOffQueue } from './handoff.js'
import { AppConfig } from './handoff-children.js'
import { ABOUT_YOU_API_KEY, ABOUT_YOU_PATH, MUSEMENT_CREDENTIALS, MUSEMENT_PATH } from './simulated-partner.js'

const main = async (): Promise<void> => {
  const config = AppConfig.decode(JSON.parse(process.env.APP_CONFIG ?? 'null'))
  if (E.isLeft(config)) throw new Error('APP_CONFIG is missing or invalid')
  const c = config.right
  const client = await connectClient(c.redisUrl)
  const store = redisStore({ client, prefix: c.storePrefix })
  const options = { attempts: c.attempts, backoff: { type: 'exponential', delay: c.backoffMs } }
  const app = express()
  app.post(MUSEMENT_PATH, musementOrderItem({ credentials: MUSEMENT_CREDENTIALS, store, handOff: bullmqHandOff(handOffQueue(c.queues.musement, client), options) }))
  app.post(
    ABOUT_YOU_PATH,
    aboutYouShipment(ABOUT_YOU_EVENT_NAMES, { apiKeys: ABOUT_YOU_API_KEY, store, handOff: bullmqHandOff(handOffQueue(c.queues.aboutyou, client), options) })
  )
  const server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  // Longer than the run, so the partner never reuses a socket the server is just closing.
  server.keepAliveTimeout = 120_000
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address')
  process.send?.({ type: 'listening', port: address.port })
  process.on('disconnect', () => {
    server.closeAllConnections()
    server.close(() => process.exit(0))
  })
}

main().catch((err: unknown) => {
  process.stderr.write(`handoff-app: ${String(err)}\n`)
  process.exit(1)
})
