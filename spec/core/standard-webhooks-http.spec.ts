import { expect } from 'chai'
import type { Express, RequestHandler } from 'express'
import * as t from 'io-ts'
import { Webhook } from 'standardwebhooks'
import { standardWebhooksAuth } from '../../lib/core/standard-webhooks.js'
import type { Rejection } from '../../lib/core/types.js'
import { definePartner } from '../../lib/define-partner.js'
import { jsonOf, postDelivery, problemOf } from '../helpers/deliver.js'
import { express } from '../helpers/express.js'

// A partner defined with standardWebhooksAuth() and no deliveryKey, over HTTP, its deliveries signed by the
// specification's reference library as a sender using it would sign them.
const AcmeEvent = t.type({ type: t.string, data: t.type({ id: t.string }) }, 'AcmeEvent')
type AcmeEvent = t.TypeOf<typeof AcmeEvent>

const acme = definePartner({ name: 'acme', codec: AcmeEvent, auth: standardWebhooksAuth() })

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const PATH = '/webhooks/acme'
const BODY = Buffer.from('{"type":"invoice.paid","data":{"id":"inv_1"}}', 'utf8')

/** The headers a sender using the reference library sends, `secondsAgo` after signing. */
const signed = (id: string, body: Buffer, secondsAgo = 0): Record<string, string> => {
  const seconds = Math.floor(Date.now() / 1000) - secondsAgo
  return {
    'webhook-id': id,
    'webhook-timestamp': String(seconds),
    'webhook-signature': new Webhook(SECRET).sign(id, new Date(seconds * 1000), body)
  }
}

interface Received {
  readonly app: Express
  readonly events: AcmeEvent[]
  readonly rejections: Rejection[]
}

/** An app with the acme route, after `before` (a body parser, to show what mount order does). */
const appWith = (before?: RequestHandler): Received => {
  const events: AcmeEvent[] = []
  const rejections: Rejection[] = []
  const app = express()
  if (before !== undefined) app.use(before)
  app.post(PATH, acme({ secrets: SECRET, handler: (event) => void events.push(event), onReject: (r) => void rejections.push(r) }))
  return { app, events, rejections }
}

describe('standardWebhooksAuth over HTTP (definePartner, reference-signed deliveries)', () => {
  it('handles a delivery once: 200 processed, then 200 duplicate for a copy and for a retry signed later', async () => {
    const { app, events } = appWith()
    const headers = signed('msg_once', BODY, 30)
    const first = await postDelivery(app, PATH, BODY, headers)
    expect(first.status).to.equal(200)
    expect(jsonOf(first)).to.deep.equal({ status: 'processed' })
    expect(events).to.deep.equal([{ type: 'invoice.paid', data: { id: 'inv_1' } }])
    const copy = await postDelivery(app, PATH, BODY, headers)
    expect([copy.status, jsonOf(copy)]).to.deep.equal([200, { status: 'duplicate' }])
    // A sender re-signs every attempt with a new timestamp; webhook-id stays, and is the idempotency key.
    const retry = await postDelivery(app, PATH, BODY, signed('msg_once', BODY))
    expect([retry.status, jsonOf(retry)]).to.deep.equal([200, { status: 'duplicate' }])
    expect(events).to.have.length(1)
    const other = await postDelivery(app, PATH, BODY, signed('msg_other', BODY))
    expect([other.status, jsonOf(other)]).to.deep.equal([200, { status: 'processed' }])
    expect(events).to.have.length(2)
  })

  it('refuses a tampered body with 401 webhook.auth.invalid and a challenge, and hooks never see the signature', async () => {
    const { app, events, rejections } = appWith()
    const headers = signed('msg_tampered', BODY)
    const tampered = Buffer.from(BODY.toString('utf8').replace('inv_1', 'inv_2'), 'utf8')
    const res = await postDelivery(app, PATH, tampered, headers)
    expect(res.status).to.equal(401)
    expect(problemOf(res).type).to.equal('webhook.auth.invalid')
    expect(res.headers['www-authenticate']).to.equal('StandardWebhooks realm="acme"')
    expect(events).to.deep.equal([])
    expect(rejections.map((r) => r.headers['webhook-signature'])).to.deep.equal(['[redacted]'])
    expect(JSON.stringify(rejections)).not.to.include(headers['webhook-signature']?.slice(3))
    // The id was not recorded: the genuine delivery still goes through.
    const genuine = await postDelivery(app, PATH, BODY, headers)
    expect([genuine.status, jsonOf(genuine)]).to.deep.equal([200, { status: 'processed' }])
  })

  it('refuses a missing header (401 webhook.auth.missing) and a stale timestamp (401 webhook.auth.invalid)', async () => {
    const { app, events } = appWith()
    const { 'webhook-id': _id, ...noId } = signed('msg_missing', BODY)
    const missing = await postDelivery(app, PATH, BODY, noId)
    expect([missing.status, problemOf(missing).type, problemOf(missing).detail]).to.deep.equal([401, 'webhook.auth.missing', 'missing header webhook-id'])
    const stale = await postDelivery(app, PATH, BODY, signed('msg_stale', BODY, 301))
    expect([stale.status, problemOf(stale).type]).to.deep.equal([401, 'webhook.auth.invalid'])
    expect(events).to.deep.equal([])
  })

  it('answers 500 webhook.body.already_parsed when express.json() runs first, saying to mount the route before it', async () => {
    const { app, events } = appWith(express.json())
    const res = await postDelivery(app, PATH, BODY, signed('msg_parsed', BODY))
    expect(res.status).to.equal(500)
    const problem = problemOf(res)
    expect(problem.type).to.equal('webhook.body.already_parsed')
    expect(problem.detail).to.match(/mount the webhook route before express\.json\(\)/)
    expect(events).to.deep.equal([])
  })

  it('still verifies when express.raw({ type: "application/json" }) runs first: the bytes are kept', async () => {
    const { app, events } = appWith(express.raw({ type: 'application/json' }))
    const res = await postDelivery(app, PATH, BODY, signed('msg_raw', BODY))
    expect([res.status, jsonOf(res)]).to.deep.equal([200, { status: 'processed' }])
    expect(events).to.have.length(1)
    const tampered = await postDelivery(app, PATH, Buffer.from(`${BODY.toString('utf8')} `, 'utf8'), signed('msg_raw_2', BODY))
    expect([tampered.status, problemOf(tampered).type]).to.deep.equal([401, 'webhook.auth.invalid'])
  })
})
