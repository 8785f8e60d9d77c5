// Type-level checks, enforced by `npm run typecheck` (tsc covers spec/): every `@ts-expect-error` below must meet a
// type error, or tsc fails. The few calls that also run check the matching run-time refusal.
import { expect } from 'chai'
import type {
  AboutYouEvent,
  AboutYouOrderItemsCancelledEvent,
  AboutYouOrderItemsEvent,
  AboutYouOrderItemsReturnedEvent,
  AboutYouOrderItemsShippedEvent
} from '../../../lib/partners/aboutyou/codec.js'
import { aboutYouShipment, aboutYouWebhooks } from '../../../lib/partners/aboutyou/middleware.js'
import { aboutYouOrderItemsFixture } from '../../../lib/testing/index.js'
import { express } from '../../helpers/express.js'

type Equals<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const assertType = <T extends true>(): T | undefined => undefined

describe('partners/aboutyou types (checked by tsc)', () => {
  it('derives one type per event, and AboutYouEvent<N> narrows to the names given', () => {
    assertType<Equals<AboutYouEvent<'order_items.shipped'>, AboutYouOrderItemsShippedEvent>>()
    assertType<Equals<AboutYouEvent<'order_items.returned'>, AboutYouOrderItemsReturnedEvent>>()
    assertType<Equals<AboutYouEvent['event'], AboutYouOrderItemsEvent['event']>>()
    assertType<Equals<AboutYouEvent<'order_items.shipped' | 'order_items.cancelled'>['event'], 'order_items.shipped' | 'order_items.cancelled'>>()
    // @ts-expect-error a shipped event is not a cancelled one
    assertType<Equals<AboutYouOrderItemsShippedEvent, AboutYouOrderItemsCancelledEvent>>()
    const vat = (event: AboutYouOrderItemsShippedEvent): number[] => event.message.items.map((item) => item.vat)
    // @ts-expect-error custom_data is optional (and nullable), so it may be absent
    const custom = (event: AboutYouOrderItemsShippedEvent): Array<Record<string, unknown> | null> => event.message.items.map((i) => i.custom_data)
    expect([vat, custom]).to.have.length(2)
  })

  it('narrows req.body after aboutYouShipment(event) to that event, with no cast', () => {
    const app = express()
    app.post('/shipped', aboutYouShipment('order_items.shipped', { apiKeys: 'k' }), (req, res) => {
      const event: AboutYouOrderItemsShippedEvent = req.body
      // @ts-expect-error this URL only receives order_items.shipped, so a cancelled event cannot be here
      const cancelled: AboutYouOrderItemsCancelledEvent = req.body
      // @ts-expect-error order_item_status is a Musement field; About You events do not have it
      const status: unknown = req.body.order_item_status
      res.json({ event, cancelled, status })
    })
    expect(app).to.be.a('function')
  })

  it('narrows the handler of a list to exactly the listed events', () => {
    const middleware = aboutYouShipment(['order_items.cancelled', 'order_items.returned'], {
      apiKeys: ['k1', 'k2'],
      handler: (event) => {
        const name: 'order_items.cancelled' | 'order_items.returned' = event.event
        // @ts-expect-error the list does not include order_items.shipped
        const shipped: 'order_items.shipped' = event.event
        // @ts-expect-error there is more than one event here, so this may be a returned one
        const cancelled: AboutYouOrderItemsCancelledEvent = event
        expect([name, shipped, cancelled]).to.have.length(3)
      }
    })
    expect(middleware.name).to.equal('aboutYouShipmentMiddleware')
  })

  it('types each dispatcher handler with its own event, and req.body after it with the handled ones', () => {
    const app = express()
    app.post(
      '/about-you',
      aboutYouWebhooks(
        {
          'order_items.shipped': (event, req) => {
            const shipped: AboutYouOrderItemsShippedEvent = event
            const body: AboutYouOrderItemsShippedEvent = req.body
            // @ts-expect-error the shipped handler never sees a returned event
            const returned: AboutYouOrderItemsReturnedEvent = event
            expect([shipped, body, returned]).to.have.length(3)
          },
          'order_items.returned': async (event) => {
            const returned: AboutYouOrderItemsReturnedEvent = event
            expect(returned.event).to.equal('order_items.returned')
          }
        },
        { apiKeys: 'k' }
      ),
      (req, _res, next) => {
        const name: 'order_items.shipped' | 'order_items.returned' = req.body.event
        // @ts-expect-error order_items.cancelled has no handler here, so it never reaches this route
        const cancelled: AboutYouOrderItemsCancelledEvent = req.body
        next([name, cancelled])
      }
    )
    expect(app).to.be.a('function')
  })

  it('refuses misspelt event names at compile time (and at run time)', () => {
    // @ts-expect-error misspelt event name
    expect(() => aboutYouShipment('order_items.shiped', { apiKeys: 'k' })).to.throw(TypeError)
    // @ts-expect-error misspelt event name in a list
    expect(() => aboutYouShipment(['order_items.shipped', 'order_items.canceled'], { apiKeys: 'k' })).to.throw(TypeError)
    expect(() =>
      aboutYouWebhooks(
        {
          'order_items.shipped': () => undefined,
          // @ts-expect-error misspelt event key in the handler map
          'order_items.canceled': () => undefined
        },
        { apiKeys: 'k' }
      )
    ).to.throw(TypeError, /unknown event "order_items.canceled"/)
  })

  it('refuses option mistakes at compile time (and at run time)', () => {
    // @ts-expect-error authentication is not optional: pass apiKeys or opt out loudly
    expect(() => aboutYouShipment('order_items.shipped', {})).to.throw(TypeError)
    // @ts-expect-error apiKeys and the opt-out exclude each other
    expect(() => aboutYouShipment('order_items.shipped', { apiKeys: 'k', dangerouslyDisableAuthentication: true })).to.throw(TypeError)
    // @ts-expect-error the opt-out must be exactly `true`
    expect(() => aboutYouShipment('order_items.shipped', { dangerouslyDisableAuthentication: false })).to.throw(TypeError)
    // @ts-expect-error the dispatcher takes its handlers in the first argument
    expect(() => aboutYouWebhooks({ 'order_items.shipped': () => undefined }, { apiKeys: 'k', handler: () => undefined })).to.throw(TypeError)
    // @ts-expect-error a handler must be a function
    expect(() => aboutYouWebhooks({ 'order_items.shipped': 'ship it' }, { apiKeys: 'k' })).to.throw(TypeError)
  })

  it('types the fixture builders with the wire form', () => {
    const wire = aboutYouOrderItemsFixture('order_items.cancelled', { subscription_id: null, timestamp: '2025-08-23T05:56:52Z' })
    const name: 'order_items.cancelled' = wire.event
    // @ts-expect-error on the wire the timestamp is a string, not a Date
    aboutYouOrderItemsFixture('order_items.cancelled', { timestamp: new Date() })
    // @ts-expect-error the message id is a number on the wire
    aboutYouOrderItemsFixture('order_items.shipped', { id: '1' })
    expect(name).to.equal('order_items.cancelled')
  })
})
