import express, { type NextFunction, type Request, type Response } from 'express'
import * as OpenApiValidator from 'express-openapi-validator'
import { fixturePath, partnerPath } from '../bodies.js'
import { credentialCheck, credentialHeader, listen, ok, partnerArg } from './common.js'

// The generic alternative: express.json() and express-openapi-validator fed the partner's OpenAPI document (for
// About You the vendor's own; for Musement a minimal wrapper around the vendor's JSON Schema, see fixtures/README.md).
// The document's security scheme gets a handler that compares the credential in constant time, as the others do.
const partner = partnerArg()
const authentic = credentialCheck(partner)
const header = credentialHeader(partner)
const scheme = partner === 'musement' ? 'BasicAuth' : 'APIKeyAuth'
const spec = partner === 'musement' ? 'musement-order-item.openapi.json' : 'aboutyou-order-items-shipped.openapi.json'

const statusOf = (err: unknown): number =>
  typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' ? err.status : 500

const app = express()
app.use(express.json())
app.use(
  OpenApiValidator.middleware({
    apiSpec: fixturePath(spec),
    validateRequests: true,
    validateResponses: false,
    validateSecurity: { handlers: { [scheme]: (req: Request) => authentic(req.headers[header]) } }
  })
)
app.post(partnerPath(partner), (_req, res) => ok(res))
app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
  res.status(statusOf(err)).json({ error: err instanceof Error ? err.message : 'failed' })
})
await listen(app)
