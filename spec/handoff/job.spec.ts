import { expect } from 'chai'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import type { Redis } from 'ioredis'
import { handOffJobId, HandOffJobData } from '../../lib/handoff/job.js'
import { connectClient, freshQueueName, handOffQueue } from '../helpers/handoff.js'
import { startRedis, type TestRedis } from '../helpers/redis-server.js'

describe('handoff/job', () => {
  describe('handOffJobId', () => {
    it('keeps the id readable: the partner, then the key with its colons escaped', () => {
      expect(handOffJobId('musement', 'musement:11045e18-e3ca-42e1-acb4-0d5be75036fd:22')).to.equal(
        'musement/musement%3A11045e18-e3ca-42e1-acb4-0d5be75036fd%3A22'
      )
      expect(handOffJobId('aboutyou', 'order_items.shipped:none:7')).to.equal('aboutyou/order_items.shipped%3Anone%3A7')
    })

    it('gives different deliveries different ids, never with a colon, never an integer (property)', () => {
      const part = fc.string({ unit: fc.constantFrom('a', '1', ':', '%', '/', '3', 'A'), maxLength: 8 })
      fc.assert(
        fc.property(fc.tuple(part, part), fc.tuple(part, part), ([p1, k1], [p2, k2]) => {
          const [a, b] = [handOffJobId(p1, k1), handOffJobId(p2, k2)]
          expect(a.includes(':') || String(parseInt(a, 10)) === a).to.equal(false)
          if (p1 !== p2 || k1 !== k2) expect(a).not.to.equal(b)
        }),
        { numRuns: 2000 }
      )
    })

    describe('with BullMQ', () => {
      let redis: TestRedis | undefined
      let client: Redis | undefined
      before(async () => {
        redis = await startRedis()
        client = await connectClient(redis.url)
      })
      after(async () => {
        client?.disconnect()
        await redis?.stop()
      })

      it('is accepted as a custom job id, where the raw keys are refused', async () => {
        if (client === undefined) return expect.fail('redis did not start')
        const queue = handOffQueue(freshQueueName('ids'), client)
        const data = { partner: 'p', key: 'k', scope: 'k', event: {}, receivedAt: 0 }
        try {
          for (const key of ['musement:11045e18-e3ca-42e1-acb4-0d5be75036fd:22', 'a:b:c:d', '123', '%3A']) {
            const job = await queue.add('p', data, { jobId: handOffJobId('p', key) })
            expect(job.id).to.equal(handOffJobId('p', key))
          }
          let refused: unknown
          await queue.add('p', data, { jobId: 'a:b:c:d' }).catch((err: unknown) => (refused = err))
          expect(refused, 'BullMQ refuses this id unescaped').to.be.instanceOf(Error)
        } finally {
          await queue.obliterate({ force: true })
          await queue.close()
        }
      })
    })
  })

  describe('HandOffJobData', () => {
    it('reads back a job as the middleware writes it, and refuses anything else', () => {
      const job = { partner: 'musement', key: 'k', scope: 's', version: 3, event: { a: 1 }, rawBody: '{}', receivedAt: 1 }
      expect(HandOffJobData.decode(JSON.parse(JSON.stringify(job)))).to.deep.equal(E.right(job))
      expect(E.isLeft(HandOffJobData.decode({ ...job, receivedAt: 'yesterday' }))).to.equal(true)
      expect(E.isLeft(HandOffJobData.decode({ hello: 'world' }))).to.equal(true)
    })
  })
})
