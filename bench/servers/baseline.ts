import express from 'express'
import { ABOUT_YOU_PATH, MUSEMENT_PATH } from '../bodies.js'
import { listen, ok } from './common.js'

// The floor: Express parses the JSON body and the route answers 200. No authentication, no validation, no store.
const app = express()
app.post([MUSEMENT_PATH, ABOUT_YOU_PATH], express.json(), (_req, res) => ok(res))
await listen(app)
