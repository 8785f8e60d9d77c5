// About You, one URL for every event: `aboutYouWebhooks` calls the handler registered for the event's name, with
// that event's type. An event without a handler (here none is missing) would be answered 400.
import express from 'express'
import { aboutYouWebhooks, type AboutYouEvent } from '../lib/index.js'
import { isMain, serve } from './serve.js'

export const createApp = (onEvent: (event: AboutYouEvent) => void = console.log) => {
  const app = express()
  app.post(
    '/webhooks/about-you',
    aboutYouWebhooks(
      {
        'order_items.shipped': (event) => onEvent(event),
        'order_items.cancelled': (event) => onEvent(event),
        'order_items.returned': (event) => onEvent(event)
      },
      // During a key rotation, set ABOUT_YOU_PREVIOUS_API_KEY too: both keys are accepted until About You sends the
      // new one. Without it, only the current key is (no well-known fallback for the old one).
      {
        apiKeys: [
          process.env.ABOUT_YOU_API_KEY ?? 'change-me-api-key',
          ...(process.env.ABOUT_YOU_PREVIOUS_API_KEY === undefined ? [] : [process.env.ABOUT_YOU_PREVIOUS_API_KEY])
        ]
      }
    )
  )
  return app
}

if (isMain(import.meta.url)) serve(createApp(), (port) => `aboutyou-webhooks example on http://localhost:${port}/webhooks/about-you`)
