import { expect } from 'chai'
import type { ErrorRequestHandler } from 'express'
import { musementOrderItem } from '../../lib/partners/musement/middleware.js'
import { basicAuthHeader, musementOrderItemFixture, SIMULATED_ATTEMPT_HEADER, simulatePartner } from '../../lib/testing/index.js'
import { express } from '../helpers/express.js'

describe('testing/simulator', () => {
  it('retries every answer but 200, like the partners, and reports each attempt', async () => {
    const seen: string[] = []
    const app = express()
    app.post('/hook', (req, res) => {
      seen.push(String(req.headers[SIMULATED_ATTEMPT_HEADER.toLowerCase()]))
      res.sendStatus(seen.length < 3 ? [503, 202][seen.length - 1] ?? 500 : 200)
    })
    const report = await simulatePartner({ targets: [app], deliveries: [{ path: '/hook', body: { a: 1 } }], retryDelayMs: () => 1 })
    expect(seen).to.deep.equal(['0.0.1', '0.0.2', '0.0.3'])
    expect([...report.statuses.entries()].sort()).to.deep.equal([[200, 1], [202, 1], [503, 1]])
    expect(report.undelivered).to.deep.equal([])
    expect([report.sent, report.attempts]).to.deep.equal([1, 3])
  })

  it('gives up after maxAttempts and lists the copy as undelivered', async () => {
    const app = express()
    app.post('/hook', (_req, res) => void res.sendStatus(500))
    const report = await simulatePartner({ targets: [app], deliveries: [{ path: '/hook', body: '{}' }], maxAttempts: 3, retryDelayMs: () => 1 })
    expect(report.attempts).to.equal(3)
    expect(report.undelivered).to.deep.equal([{ delivery: 0, id: '0.0', lastStatus: 500 }])
  })

  it('sends copies, shuffled and concurrently, reproducibly from a seed', async () => {
    const order = async (seed: number): Promise<string[]> => {
      const got: string[] = []
      const app = express()
      app.post('/hook', express.json(), (req, res) => {
        got.push(String(req.body.n))
        res.sendStatus(200)
      })
      const deliveries = Array.from({ length: 20 }, (_, n) => ({ path: '/hook', body: { n } }))
      const report = await simulatePartner({ targets: [app], deliveries, copies: [1, 3], shuffle: true, seed })
      expect(got).to.have.length(report.sent)
      expect(report.sent).to.be.within(20, 60)
      return got
    }
    const a = await order(7)
    expect(await order(7)).to.deep.equal(a)
    expect(a).not.to.deep.equal([...a].sort((x, y) => Number(x) - Number(y)))
  })

  it('drops connections when asked, halfway through the body or while waiting, and retries them to a 200', async () => {
    let answered = 0
    const app = express()
    app.post('/hook', express.json(), async (_req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 10))
      answered++
      res.sendStatus(200)
    })
    // A body cut off halfway fails express.json() ('request aborted'); nobody is listening for that answer.
    const quiet: ErrorRequestHandler = (_err, _req, res, _next) => void res.end()
    app.use(quiet)
    const deliveries = Array.from({ length: 30 }, (_, n) => ({ path: '/hook', body: { n } }))
    const report = await simulatePartner({ targets: [app], deliveries, seed: 3, retryDelayMs: () => 1, dropConnections: { rate: 0.5, maxWaitMs: 20 } })
    expect(report.undelivered).to.deep.equal([])
    expect(report.statuses.get(0)).to.be.greaterThan(5)
    expect(report.statuses.get(200)).to.equal(30)
    expect(report.attempts).to.equal(30 + (report.statuses.get(0) ?? 0))
    // Some drops came after the app had answered: the partner never saw those 200s.
    expect(answered).to.be.greaterThan(30)
  })

  it('drives a real middleware: duplicates and retries end with one handled event per delivery', async () => {
    const handled: number[] = []
    const app = express()
    let calls = 0
    app.post(
      '/webhooks/musement',
      musementOrderItem({
        credentials: { username: 'u', password: 'p' },
        handler: (event) => {
          if (++calls % 4 === 0) throw new Error('flaky')
          handled.push(event.order_item_version)
        }
      })
    )
    const onError: ErrorRequestHandler = (_err, _req, res, _next) => void res.sendStatus(500)
    app.use(onError)
    const deliveries = Array.from({ length: 30 }, (_, i) => ({
      path: '/webhooks/musement',
      body: musementOrderItemFixture({ order_item_uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` }),
      headers: { Authorization: basicAuthHeader('u', 'p') }
    }))
    const report = await simulatePartner({ targets: [app, app], deliveries, copies: [1, 3], shuffle: true, concurrency: 4, seed: 42, retryDelayMs: () => 2 })
    expect(report.undelivered).to.deep.equal([])
    expect(handled).to.have.length(30)
  })
})
