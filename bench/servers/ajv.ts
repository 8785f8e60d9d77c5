import express from 'express'
import { partnerPath } from '../bodies.js'
import { ajvValidator } from '../schemas.js'
import { credentialCheck, credentialHeader, listen, ok, partnerArg } from './common.js'

// The hand-rolled reference: express.json(), the credential header compared in constant time, and an ajv-compiled
// JSON Schema check of the body. No exactly-once bookkeeping, and the body stays JSON (no dates or numbers decoded).
const partner = partnerArg()
const validate = ajvValidator(partner)
const authentic = credentialCheck(partner)
const header = credentialHeader(partner)

const app = express()
app.post(partnerPath(partner), express.json(), (req, res) => {
  if (!authentic(req.headers[header])) {
    res.status(401).json({ error: 'unauthorized' })
    return
  }
  if (!validate(req.body)) {
    res.status(400).json({ errors: validate.errors })
    return
  }
  ok(res)
})
await listen(app)
