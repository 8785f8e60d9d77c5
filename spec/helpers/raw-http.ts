import type { Express } from 'express'
import type { Server } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** A test server on a free 127.0.0.1 port; `sockets` are its accepted connections, for `bytesRead`. */
export interface Listening {
  readonly port: number
  readonly server: Server
  readonly sockets: Socket[]
  readonly close: () => Promise<void>
}

export const listen = async (app: Express): Promise<Listening> => {
  const server = app.listen(0, '127.0.0.1')
  const sockets: Socket[] = []
  server.on('connection', (s: Socket) => void sockets.push(s))
  await new Promise((resolve) => server.once('listening', resolve))
  const address: AddressInfo | string | null = server.address()
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address')
  const close = async (): Promise<void> => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
  return { port: address.port, server, sockets, close }
}

/** Header lines sent exactly as given, in order: repeated names and non-ASCII bytes (a Buffer value) included. */
export type HeaderLines = ReadonlyArray<readonly [string, string | Buffer]>

export interface RawRequest {
  readonly method?: string
  readonly path: string
  readonly headers?: HeaderLines
  readonly body?: Buffer
  /** `length` (default) adds Content-Length unless `headers` has one; `chunked` sends the body as one chunk. */
  readonly framing?: 'length' | 'chunked' | 'none'
}

/** What came back: `status` 0 when the connection closed without a complete answer. */
export interface RawAnswer {
  readonly status: number
  /** Lower-case names; repeated headers joined with ', '. */
  readonly headers: Readonly<Record<string, string>>
  readonly text: string
}

const headOf = (r: RawRequest): Buffer => {
  const lines: Array<Buffer | string> = [`${r.method ?? 'POST'} ${r.path} HTTP/1.1\r\n`, 'Host: 127.0.0.1\r\n']
  const headers = r.headers ?? []
  for (const [name, value] of headers) lines.push(`${name}: `, value, '\r\n')
  const has = (name: string) => headers.some(([n]) => n.toLowerCase() === name)
  const framing = r.framing ?? 'length'
  if (framing === 'length' && !has('content-length')) lines.push(`Content-Length: ${r.body?.length ?? 0}\r\n`)
  if (framing === 'chunked') lines.push('Transfer-Encoding: chunked\r\n')
  lines.push('\r\n')
  return Buffer.concat(lines.map((l) => (typeof l === 'string' ? Buffer.from(l, 'latin1') : l)))
}

const chunk = (body: Buffer): Buffer =>
  body.length === 0 ? Buffer.from('0\r\n\r\n') : Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')])

const dechunk = (data: Buffer): Buffer | undefined => {
  const parts: Buffer[] = []
  for (let at = 0; ; ) {
    const eol = data.indexOf('\r\n', at)
    if (eol < 0) return undefined
    const size = parseInt(data.subarray(at, eol).toString('latin1'), 16)
    if (size === 0) return Buffer.concat(parts)
    if (data.length < eol + 2 + size + 2) return undefined
    parts.push(data.subarray(eol + 2, eol + 2 + size))
    at = eol + 2 + size + 2
  }
}

/** The first complete answer in `data`, or `undefined` while it is incomplete (HEAD answers have no body). */
export const parseAnswer = (data: Buffer, method: string): RawAnswer | undefined => {
  const end = data.indexOf('\r\n\r\n')
  if (end < 0) return undefined
  const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
  }
  const status = Number(statusLine.split(' ')[1])
  const rest = data.subarray(end + 4)
  let body: Buffer | undefined
  if (method === 'HEAD' || status === 204 || status === 304) body = Buffer.alloc(0)
  else if (headers['transfer-encoding'] === 'chunked') body = dechunk(rest)
  else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length'])
    body = rest.length >= length ? rest.subarray(0, length) : undefined
  } else body = rest
  return body === undefined ? undefined : { status, headers, text: body.toString('utf8') }
}

/**
 * Sends one request byte for byte over a fresh connection and resolves with the first complete answer (then closes
 * the connection). The server may answer and close before the whole body is written: the answer is what counts.
 */
export const sendRaw = (port: number, r: RawRequest, timeoutMs = 10_000): Promise<RawAnswer> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let received = Buffer.alloc(0)
    let done = false
    const finish = (answer: RawAnswer | Error): void => {
      if (done) return
      done = true
      socket.destroy()
      if (answer instanceof Error) reject(answer)
      else resolve(answer)
    }
    const answered = (): RawAnswer | undefined => parseAnswer(received, r.method ?? 'POST')
    socket.setTimeout(timeoutMs, () => finish(new Error(`no answer within ${timeoutMs} ms`)))
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d])
      const answer = answered()
      if (answer !== undefined) finish(answer)
    })
    const ended = (err?: Error): void =>
      finish(answered() ?? err ?? new Error(`closed without a complete answer: ${JSON.stringify(received.toString('latin1').slice(0, 200))}`))
    socket.on('end', () => ended()).on('close', () => ended()).on('error', ended)
    const body = r.body ?? Buffer.alloc(0)
    socket.write(headOf(r))
    socket.write(r.framing === 'chunked' ? chunk(body) : body)
  })

/** What a slow sender saw: how much it had written when the answer arrived, and in all. */
export interface Streamed {
  readonly answer: RawAnswer | undefined
  readonly sentWhenAnswered: number
  readonly sent: number
  readonly elapsedMs: number
}

/**
 * Streams a chunked body of up to `total` bytes, `chunkSize` at a time with a pause between chunks, and keeps
 * sending after the answer (as a careless sender would) until the server closes the connection or `total` is sent.
 */
export const streamChunked = async (
  port: number,
  o: { readonly path: string; readonly headers: HeaderLines; readonly total: number; readonly chunkSize: number; readonly pauseMs: number }
): Promise<Streamed> => {
  const socket = connect(port, '127.0.0.1')
  const started = performance.now()
  let received = Buffer.alloc(0)
  let answer: RawAnswer | undefined
  let sent = 0
  let sentWhenAnswered = -1
  let closed = false
  socket.on('data', (d: Buffer) => {
    received = Buffer.concat([received, d])
    answer ??= parseAnswer(received, 'POST')
    if (answer !== undefined && sentWhenAnswered < 0) sentWhenAnswered = sent
  })
  socket.on('error', () => undefined).on('close', () => void (closed = true))
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write(headOf({ path: o.path, headers: o.headers, framing: 'chunked' }))
  const piece = Buffer.concat([Buffer.from(`${o.chunkSize.toString(16)}\r\n`), Buffer.alloc(o.chunkSize, 0x20), Buffer.from('\r\n')])
  try {
    while (sent < o.total && !closed) {
      sent += o.chunkSize
      if (!socket.write(piece)) await new Promise((resolve) => socket.once('drain', resolve).once('close', resolve))
      await sleep(o.pauseMs)
    }
    if (!closed) socket.write('0\r\n\r\n')
    for (let waited = 0; answer === undefined && !closed && waited < 5000; waited += 10) await sleep(10)
  } finally {
    socket.destroy()
  }
  return { answer, sentWhenAnswered, sent, elapsedMs: performance.now() - started }
}
