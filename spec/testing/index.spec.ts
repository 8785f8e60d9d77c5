import { expect } from 'chai'
import * as E from 'fp-ts/lib/Either.js'
import { readFileSync } from 'node:fs'
import { aboutYouEventCodec } from '../../lib/partners/aboutyou/codec.js'
import { MusementOrderItem } from '../../lib/partners/musement/codec.js'
import {
  aboutYouOrderItemFixture,
  aboutYouOrderItemsFixture,
  apiKeyHeader,
  basicAuthHeader,
  musementOrderItemExample,
  musementOrderItemFixture
} from '../../lib/testing/index.js'

const fixture = (path: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8'))

describe('testing (the kit users build their tests with)', () => {
  it('basicAuthHeader encodes UTF-8 credentials as RFC 7617 says', () => {
    expect(basicAuthHeader('musement', 'pässword:1')).to.equal(`Basic ${Buffer.from('musement:pässword:1').toString('base64')}`)
  })

  it('apiKeyHeader names the X-API-Key header', () => expect(apiKeyHeader('k')).to.deep.equal({ 'X-API-Key': 'k' }))

  it('musementOrderItemFixture is the vendor example, valid, with overrides applied', () => {
    expect(musementOrderItemExample).to.deep.equal(fixture('musement/order-item.json'))
    const body = musementOrderItemFixture({ order_item_status: 'KO' })
    expect(body.order_item_status).to.equal('KO')
    expect(E.isRight(MusementOrderItem.decode(body))).to.equal(true)
  })

  it('aboutYouOrderItemsFixture is the vendor example for any event, valid, and fresh on every call', () => {
    expect(aboutYouOrderItemsFixture('order_items.shipped')).to.deep.equal(fixture('aboutyou/order-items-shipped.json'))
    for (const name of ['order_items.shipped', 'order_items.cancelled', 'order_items.returned'] as const) {
      const body = aboutYouOrderItemsFixture(name, { id: 9, message: { items: [aboutYouOrderItemFixture({ status: 'returned' })], carrier_key: 'UPS' } })
      const decoded = aboutYouEventCodec([name]).decode(body)
      expect(E.isRight(decoded) && decoded.right.event, name).to.equal(name)
    }
    const a = aboutYouOrderItemsFixture('order_items.shipped')
    a.message.items.push(aboutYouOrderItemFixture())
    expect(aboutYouOrderItemsFixture('order_items.shipped').message.items).to.have.length(1)
  })
})
