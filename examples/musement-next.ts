// Wiring style 2: no handler; the route after the middleware reads the typed event from `req.body` and answers.
import express from 'express'
import { musementOrderItem, type MusementOrderItemEvent } from '../lib/index.js'
import { isMain, serve } from './serve.js'

export const createApp = (onEvent: (event: MusementOrderItemEvent) => void = console.log) => {
  const app = express()
  app.post(
    '/webhooks/musement',
    musementOrderItem({ credentials: { username: 'musement', password: process.env.MUSEMENT_PASSWORD ?? 'change-me' } }),
    (req, res) => {
      onEvent(req.body)
      // Musement counts only a 200 as received.
      res.status(200).json({ received: req.body.order_item_uuid })
    }
  )
  return app
}

if (isMain(import.meta.url)) serve(createApp(), (port) => `musement-next example on http://localhost:${port}/webhooks/musement`)
