// Wiring style 1: the `handler` option. The middleware answers 200 once the handler resolves.
import express from 'express'
import { musementOrderItem, type MusementOrderItemEvent } from '../lib/index.js'
import { isMain, serve } from './serve.js'

export const createApp = (onEvent: (event: MusementOrderItemEvent) => void = console.log) => {
  const app = express()
  app.post(
    '/webhooks/musement',
    musementOrderItem({
      credentials: { username: 'musement', password: process.env.MUSEMENT_PASSWORD ?? 'change-me' },
      handler: async (event) => {
        onEvent(event)
      }
    })
  )
  return app
}

if (isMain(import.meta.url)) serve(createApp(), (port) => `musement-handler example on http://localhost:${port}/webhooks/musement`)
