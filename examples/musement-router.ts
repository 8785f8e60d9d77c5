// Wiring style 3: `router.use` on a Router mounted under /webhooks, ahead of the body parser for the rest of the app
// (mounted first, the webhooks authenticate a request before any byte of its body is read).
import express from 'express'
import { musementOrderItem, type MusementOrderItemEvent } from '../lib/index.js'
import { isMain, serve } from './serve.js'

export const createApp = (onEvent: (event: MusementOrderItemEvent) => void = console.log) => {
  const webhooks = express.Router()
  webhooks.use(
    '/musement',
    musementOrderItem({
      // During a password rotation, set MUSEMENT_PREVIOUS_PASSWORD too: both pairs are accepted until Musement uses
      // the new one. Without it, only the current password is (no well-known fallback for the old one).
      credentials: [
        { username: 'musement', password: process.env.MUSEMENT_PASSWORD ?? 'change-me' },
        ...(process.env.MUSEMENT_PREVIOUS_PASSWORD === undefined ? [] : [{ username: 'musement', password: process.env.MUSEMENT_PREVIOUS_PASSWORD }])
      ],
      handler: (event) => onEvent(event)
    })
  )
  const app = express()
  app.use('/webhooks', webhooks)
  app.use(express.json())
  return app
}

if (isMain(import.meta.url)) serve(createApp(), (port) => `musement-router example on http://localhost:${port}/webhooks/musement`)
