import express from 'express'
import { aboutYouShipment } from '../../lib/index.js'
import { ABOUT_YOU_API_KEY, ABOUT_YOU_PATH } from '../bodies.js'
import { listen } from './common.js'

// The About You middleware for one event: X-API-Key auth, the default memory store, a handler that resolves.
const app = express()
app.post(ABOUT_YOU_PATH, aboutYouShipment('order_items.shipped', { apiKeys: ABOUT_YOU_API_KEY, handler: () => undefined }))
await listen(app)
