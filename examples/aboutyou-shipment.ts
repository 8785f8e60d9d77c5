// About You, one URL per event: no handler, so the route after the middleware reads the typed event from `req.body`.
// Register this URL in the Sellers Center for `order_items.shipped` only; any other event sent here is answered 400.
import express from 'express'
import { aboutYouShipment, type AboutYouOrderItemsShippedEvent } from '../lib/index.js'
import { isMain, serve } from './serve.js'

export const createApp = (onEvent: (event: AboutYouOrderItemsShippedEvent) => void = console.log) => {
  const app = express()
  app.post(
    '/webhooks/about-you/shipped',
    aboutYouShipment('order_items.shipped', { apiKeys: process.env.ABOUT_YOU_API_KEY ?? 'change-me-api-key' }),
    (req, res) => {
      onEvent(req.body)
      // Only a 200 settles the delivery; anything else and About You retries (hourly, for up to 48 hours).
      res.status(200).json({ received: req.body.id, items: req.body.message.items.length })
    }
  )
  return app
}

if (isMain(import.meta.url)) serve(createApp(), (port) => `aboutyou-shipment example on http://localhost:${port}/webhooks/about-you/shipped`)
