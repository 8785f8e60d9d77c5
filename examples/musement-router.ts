// Wiring style 3: `router.use` on a Router mounted under /webhooks, next to a body parser for the rest of the app.
import express from 'express'
import { musementOrderItem, type MusementOrderItemEvent } from '../lib/index.js'
import { isMain, serve } from './serve.js'

export const createApp = (onEvent: (event: MusementOrderItemEvent) => void = console.log) => {
  const webhooks = express.Router()
  webhooks.use(
    '/musement',
    musementOrderItem({
      credentials: [
        // Two pairs while a password is being rotated; drop the old one once Musement uses the new one.
        { username: 'musement', password: process.env.MUSEMENT_PASSWORD ?? 'change-me' },
        { username: 'musement', password: process.env.MUSEMENT_PREVIOUS_PASSWORD ?? 'old-password' }
      ],
      handler: (event) => onEvent(event)
    })
  )
  const app = express()
  app.use(express.json())
  app.use('/webhooks', webhooks)
  return app
}

if (isMain(import.meta.url)) serve(createApp(), (port) => `musement-router example on http://localhost:${port}/webhooks/musement`)
