import { expect } from 'chai'
import request from 'supertest'
import { acknowledge } from '../../lib/core/respond.js'
import { express } from '../helpers/express.js'

describe('core/respond', () => {
  for (const status of ['processed', 'duplicate', 'stale'] as const) {
    it(`acknowledges ${status} with exactly 200 and a JSON body, without an ETag`, async () => {
      const app = express()
      app.post('/', (_req, res) => acknowledge(res, status))
      const res = await request(app).post('/')
      expect(res.status).to.equal(200)
      expect(res.headers['content-type']).to.equal('application/json; charset=utf-8')
      expect(res.headers['content-length']).to.equal(String(JSON.stringify({ status }).length))
      expect(res.headers.etag).to.equal(undefined)
      expect(res.body).to.deep.equal({ status })
    })
  }
})
