// Type-level checks, enforced by `npm run typecheck` (tsc covers spec/): every `@ts-expect-error` below must meet a
// type error, or tsc fails. They prove that a handler reaches a transactional store's transaction without a cast.
// Nothing here connects to a database: `pg.Pool` connects lazily.
import { expect } from 'chai'
import pg from 'pg'
import { aboutYouShipment, aboutYouWebhooks } from '../../lib/partners/aboutyou/middleware.js'
import { musementOrderItem } from '../../lib/partners/musement/middleware.js'
import { postgresStore } from '../../lib/stores/postgres.js'

type Equals<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const assertType = <T extends true>(): T | undefined => undefined
const credentials = { username: 'u', password: 'p' }
const apiKeys = 'key'

describe('transactional stores in the factories (checked by tsc)', () => {
  const pool = new pg.Pool()
  after(() => pool.end())
  const store = postgresStore({ pool })

  it("gives a Musement handler the app's own PoolClient through store.transaction(delivery), typed, with no cast", () => {
    const middleware = musementOrderItem({
      credentials,
      store,
      handler: async (event, _req, _res, delivery) => {
        const tx = store.transaction(delivery)
        assertType<Equals<typeof tx, pg.PoolClient>>()
        await tx.query('UPDATE orders SET status = $1 WHERE item = $2', [event.order_item_status, event.order_item_uuid])
        // @ts-expect-error the transaction is the store's, not a field of the delivery
        void delivery.transaction
      }
    })
    expect(middleware.name).to.equal('musementOrderItemMiddleware')
  })

  it('gives About You handlers the transaction too, one event or several per URL', () => {
    aboutYouShipment('order_items.shipped', {
      apiKeys,
      store,
      handler: async (event, _req, _res, delivery) => {
        await store.transaction(delivery).query('INSERT INTO shipments (id) VALUES ($1)', [event.id])
      }
    })
    aboutYouWebhooks(
      { 'order_items.shipped': async (event, _req, _res, delivery) => void (await store.transaction(delivery).query('SELECT $1', [event.id])) },
      { apiKeys, store }
    )
  })
})
