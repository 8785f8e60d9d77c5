// Type-level checks, enforced by `npm run typecheck` (tsc covers spec/): every `@ts-expect-error` below must meet a
// type error, or tsc fails. They prove that `req.body`, the handler's event and the fixtures are typed, not `any`.
import { expect } from 'chai'
import type { DeliveryInfo } from '../../../lib/core/exactly-once.js'
import type { WebhookHandler, WebhookRequest } from '../../../lib/core/types.js'
import type { MusementOrderItemEvent, MusementOrderItemStatus } from '../../../lib/partners/musement/codec.js'
import { musementOrderItem } from '../../../lib/partners/musement/middleware.js'
import { musementOrderItemFixture } from '../../../lib/testing/index.js'
import { express } from '../../helpers/express.js'

type Equals<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const assertType = <T extends true>(): T | undefined => undefined
const credentials = { username: 'u', password: 'p' }

describe('partners/musement types (checked by tsc)', () => {
  it('types req.body in the next handler on the route, with no cast', () => {
    const app = express()
    app.post('/musement', musementOrderItem({ credentials }), (req, res) => {
      const version: number = req.body.order_item_version
      const created: Date = req.body.order_item_created
      const status: MusementOrderItemStatus = req.body.order_item_status
      const key: string = res.locals.webhook.key
      // @ts-expect-error versions are decoded to numbers, not kept as the wire's strings
      const wire: string = req.body.order_version
      // @ts-expect-error a misspelt field does not exist (req.body is not `any`)
      const missing: unknown = req.body.order_item_versoin
      res.json({ version, created, status, key, wire, missing })
    })
    expect(app).to.be.a('function')
  })

  it('types the handler event and the delivery info', () => {
    const handler: WebhookHandler<MusementOrderItemEvent> = (event, req, _res, delivery) => {
      assertType<Equals<typeof event.order_item_status, MusementOrderItemStatus>>()
      assertType<Equals<typeof delivery, DeliveryInfo>>()
      const same: WebhookRequest<MusementOrderItemEvent> = req
      // @ts-expect-error the status is one of six literals, not any string
      const other: typeof event.order_item_status = 'CANCELLED'
      expect([same, other]).to.have.length(2)
    }
    expect(musementOrderItem({ credentials, handler }).name).to.equal('musementOrderItemMiddleware')
  })

  it('types fixture overrides with the wire format', () => {
    expect(musementOrderItemFixture({ order_item_version: '23' }).order_item_version).to.equal('23')
    // @ts-expect-error on the wire the version is a digit string, not a number
    musementOrderItemFixture({ order_item_version: 23 })
    // @ts-expect-error not one of the six statuses
    musementOrderItemFixture({ order_item_status: 'MAYBE' })
  })

  it('requires credentials or the explicit opt-out', () => {
    // @ts-expect-error neither credentials nor dangerouslyDisableAuthentication
    expect(() => musementOrderItem({})).to.throw(TypeError)
    // @ts-expect-error not both
    expect(() => musementOrderItem({ credentials, dangerouslyDisableAuthentication: true })).to.throw(TypeError)
  })
})
