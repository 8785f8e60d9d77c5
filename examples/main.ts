// `npm run example`: every partner on one app, in-memory defaults, and curl lines to try it from the project root.
// Musement POSTs to /webhooks/musement; About You POSTs all three order-item events to /webhooks/about-you.
import express from 'express'
import { aboutYouWebhooks, musementOrderItem, type AboutYouEvent, type Rejection } from '../lib/index.js'
import { isMain, serve } from './serve.js'

export const MUSEMENT = { username: 'musement', password: process.env.MUSEMENT_PASSWORD ?? 'change-me' }
export const ABOUT_YOU = { apiKey: process.env.ABOUT_YOU_API_KEY ?? 'change-me-api-key' }

const describeAboutYou = (event: AboutYouEvent): string =>
  `about you ${event.event} message ${event.id}: ${event.message.items.length} item(s) via ${event.message.carrier_key}`

export const createApp = (log: (line: string) => void = console.log) => {
  const onReject = (r: Rejection) => log(`rejected ${r.partner} ${r.status} ${r.type}${r.detail === undefined ? '' : `: ${r.detail}`}`)
  const app = express()
  app.post(
    '/webhooks/musement',
    musementOrderItem({
      credentials: MUSEMENT,
      onReject,
      handler: async (event) => {
        log(`musement order item ${event.order_item_uuid} v${event.order_item_version} is ${event.order_item_status}`)
      }
    })
  )
  const onAboutYou = async (event: AboutYouEvent) => log(describeAboutYou(event))
  app.post(
    '/webhooks/about-you',
    aboutYouWebhooks(
      { 'order_items.shipped': onAboutYou, 'order_items.cancelled': onAboutYou, 'order_items.returned': onAboutYou },
      { apiKeys: ABOUT_YOU.apiKey, onReject }
    )
  )
  return app
}

export const banner = (port: number): string => {
  const url = `http://localhost:${port}`
  const musement = `-H 'Content-Type: application/json' --data-binary @examples/payloads/musement-order-item.json ${url}/webhooks/musement`
  const aboutYou = `-H 'Content-Type: application/json' --data-binary @examples/payloads/aboutyou-order-items-shipped.json ${url}/webhooks/about-you`
  return [
    `express-partner-webhooks example listening on ${url}`,
    '',
    'Musement "Update order item", valid credentials (expect 200):',
    `  curl -i -u ${MUSEMENT.username}:${MUSEMENT.password} ${musement}`,
    'Musement, wrong password (expect 401):',
    `  curl -i -u ${MUSEMENT.username}:wrong ${musement}`,
    '',
    'About You "order_items.shipped", valid API key (expect 200):',
    `  curl -i -H 'X-API-Key: ${ABOUT_YOU.apiKey}' ${aboutYou}`,
    'About You, wrong API key (expect 401):',
    `  curl -i -H 'X-API-Key: wrong' ${aboutYou}`,
    ''
  ].join('\n')
}

if (isMain(import.meta.url)) serve(createApp(), banner)
