import express from 'express'
import { musementOrderItem } from '../../lib/index.js'
import { MUSEMENT_CREDENTIALS, MUSEMENT_PATH } from '../bodies.js'
import { listen } from './common.js'

// The Musement middleware as the README sets it up: Basic auth, the default memory store, a handler that resolves.
const app = express()
app.post(MUSEMENT_PATH, musementOrderItem({ credentials: MUSEMENT_CREDENTIALS, handler: () => undefined }))
await listen(app)
