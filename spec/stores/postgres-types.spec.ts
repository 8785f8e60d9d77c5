// Type-level checks, enforced by `npm run typecheck` (tsc covers spec/): every `@ts-expect-error` below must meet a
// type error, or tsc fails. They prove that a handler reaches a transactional store's transaction without a cast, and
// only when the store has one. Nothing here connects to a database: `pg.Pool` connects lazily.
import { expect } from 'chai'
import pg from 'pg'
import type { DeliveryStore } from '../../lib/core/delivery.js'
import type { DeliveryInfo } from '../../lib/core/exactly-once.js'
import type { WebhookHandler } from '../../lib/core/types.js'
import { aboutYouShipment, aboutYouWebhooks } from '../../lib/partners/aboutyou/middleware.js'
import type { MusementOrderItemEvent } from '../../lib/partners/musement/codec.js'
import { musementOrderItem, type MusementOrderItemOptions } from '../../lib/partners/musement/middleware.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { postgresStore } from '../../lib/stores/postgres.js'

type Equals<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const assertType = <T extends true>(): T | undefined => undefined
const credentials = { username: 'u', password: 'p' }
const apiKeys = 'key'

describe('transactional stores in the factories (checked by tsc)', () => {
  const pool = new pg.Pool()
  after(() => pool.end())
  const store = postgresStore({ pool })

  it("gives a Musement handler the app's own PoolClient, typed, with no cast", () => {
    const middleware = musementOrderItem({
      credentials,
      store,
      handler: async (event, _req, _res, delivery) => {
        assertType<Equals<typeof delivery.transaction, pg.PoolClient>>()
        await delivery.transaction.query('UPDATE orders SET status = $1 WHERE item = $2', [event.order_item_status, event.order_item_uuid])
      }
    })
    expect(middleware.name).to.equal('musementOrderItemMiddleware')
  })

  it('gives About You handlers the transaction too, one event or several per URL', () => {
    aboutYouShipment('order_items.shipped', {
      apiKeys,
      store: postgresStore({ pool }),
      handler: async (event, _req, _res, delivery) => {
        await delivery.transaction.query('INSERT INTO shipments (id) VALUES ($1)', [event.id])
      }
    })
    aboutYouWebhooks(
      {
        'order_items.shipped': async (event, _req, _res, delivery) => void (await delivery.transaction.query('SELECT $1', [event.id])),
        'order_items.returned': async (_event, _req, _res, delivery) => void assertType<Equals<typeof delivery, DeliveryInfo<pg.PoolClient>>>()
      },
      { apiKeys, store }
    )
  })

  it('accepts a handler written elsewhere with the transaction in its type', () => {
    const onItem: WebhookHandler<MusementOrderItemEvent, pg.PoolClient> = async (_event, _req, _res, delivery) => {
      await delivery.transaction.query('SELECT 1')
    }
    musementOrderItem({ credentials, store, handler: onItem })
    // @ts-expect-error the memory store has no transaction to give this handler
    musementOrderItem({ credentials, store: memoryStore(), handler: onItem })
    // @ts-expect-error without a store there is no transaction either
    musementOrderItem({ credentials, handler: onItem })
    // @ts-expect-error naming the transaction type does not conjure a store that has one
    musementOrderItem<pg.PoolClient>({ credentials, handler: onItem })
  })

  it('types delivery.transaction as undefined for stores without one', () => {
    musementOrderItem({
      credentials,
      handler: async (_event, _req, _res, delivery) => {
        assertType<Equals<typeof delivery.transaction, undefined>>()
        // @ts-expect-error no transactional store, no transaction
        await delivery.transaction.query('SELECT 1')
      }
    })
    musementOrderItem({ credentials, store: memoryStore(), handler: (_e, _r, _s, delivery) => void assertType<Equals<typeof delivery, DeliveryInfo>>() })
  })

  it('keeps options objects typed ahead of the call working, and refuses a store that hides its transaction', () => {
    const options: MusementOrderItemOptions = { credentials, store: memoryStore() }
    musementOrderItem({ ...options, handler: async () => undefined })
    const hidden: DeliveryStore<pg.PoolClient> = { claim: store.claim, complete: store.complete, release: store.release }
    // @ts-expect-error a store with a transaction must say it is transactional, so the middleware commits before answering
    musementOrderItem({ credentials, store: hidden, handler: onAny })
  })
})

const onAny = async (): Promise<void> => undefined
