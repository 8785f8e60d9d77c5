import type { ServerResponse } from 'node:http'

// The 200 bodies, prepared once. Written directly rather than through `res.json`, which would stringify the same
// object and hash it for an ETag on every request (a webhook sender never revalidates). Strings rather than Buffers:
// Node joins a string body to the header block and writes both in one piece, where a Buffer goes out as a second one.
const ACKNOWLEDGEMENTS = {
  processed: '{"status":"processed"}',
  duplicate: '{"status":"duplicate"}',
  stale: '{"status":"stale"}',
  queued: '{"status":"queued"}'
} as const

/** Answers 200 with `{"status": ...}`: partners count only a 2xx (some only a 200) as received. */
export const acknowledge = (res: ServerResponse, status: keyof typeof ACKNOWLEDGEMENTS): void => {
  const body = ACKNOWLEDGEMENTS[status]
  res.statusCode = 200
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  // ASCII, so its length in characters is its length in bytes.
  res.setHeader('Content-Length', body.length)
  res.end(body, 'latin1')
}
