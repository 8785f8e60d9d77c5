// `npm run example`: every partner on one app, in-memory defaults, and curl lines to try it from the project root.
import express from 'express'
import { musementOrderItem, type Rejection } from '../lib/index.js'
import { isMain, serve } from './serve.js'

export const MUSEMENT = { username: 'musement', password: process.env.MUSEMENT_PASSWORD ?? 'change-me' }

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
  return app
}

export const banner = (port: number): string => {
  const url = `http://localhost:${port}`
  const musement = `-H 'Content-Type: application/json' --data-binary @examples/payloads/musement-order-item.json ${url}/webhooks/musement`
  return [
    `express-partner-webhooks example listening on ${url}`,
    '',
    'Musement "Update order item", valid credentials (expect 200):',
    `  curl -i -u ${MUSEMENT.username}:${MUSEMENT.password} ${musement}`,
    'Musement, wrong password (expect 401):',
    `  curl -i -u ${MUSEMENT.username}:wrong ${musement}`,
    ''
  ].join('\n')
}

if (isMain(import.meta.url)) serve(createApp(), banner)
