import { ABOUT_YOU_PATH, MUSEMENT_PATH } from '../bodies.js'
import { listen } from './common.js'

// The physical floor: Node's HTTP server alone, reading the body and answering the same 200 JSON. No Express, no
// authentication, no parsing. Nothing built on Node's HTTP server can cost less per request.
const BODY = Buffer.from('{"status":"processed"}')
const PATHS = new Set([MUSEMENT_PATH, ABOUT_YOU_PATH])

await listen((req, res) => {
  req.resume()
  req.once('end', () => {
    res.statusCode = req.method === 'POST' && PATHS.has(req.url ?? '') ? 200 : 404
    res.setHeader('Content-Type', 'application/json; charset=utf-8')
    res.setHeader('Content-Length', BODY.length)
    res.end(BODY)
  })
})
