import type { ServerResponse } from 'node:http'

// The 200 bodies, encoded once. Written directly rather than through `res.json`, which would stringify the
// same object and hash it for an ETag on every request (a webhook sender never revalidates).
const ACKNOWLEDGEMENTS = {
  processed: Buffer.from('{"status":"processed"}'),
  duplicate: Buffer.from('{"status":"duplicate"}'),
  stale: Buffer.from('{"status":"stale"}'),
  queued: Buffer.from('{"status":"queued"}')
} as const

/** Answers 200 with `{"status": ...}`: partners count only a 2xx (some only a 200) as received. */
export const acknowledge = (res: ServerResponse, status: keyof typeof ACKNOWLEDGEMENTS): void => {
  const body = ACKNOWLEDGEMENTS[status]
  res.statusCode = 200
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.setHeader('Content-Length', body.length)
  res.end(body)
}
