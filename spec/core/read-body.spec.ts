import { expect } from 'chai'
import * as E from 'fp-ts/lib/Either.js'
import { createServer, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { checkContentType, closeAfterAnswer, LINGER_MAX_BYTES, parseJson } from '../../lib/core/read-body.js'
import { streamChunked } from '../helpers/raw-http.js'

const outcome = (result: E.Either<{ type: string }, unknown>): unknown => (E.isLeft(result) ? result.left.type : result.right)

describe('core/read-body', () => {
  describe('checkContentType', () => {
    it('accepts application/json in any case, with a UTF-8 charset or none', () => {
      for (const value of ['application/json', 'APPLICATION/JSON', 'application/json; charset=utf-8', 'application/json;charset="UTF8"', 'application/json; foo=bar']) {
        expect(outcome(checkContentType({ 'content-type': value })), value).to.equal(undefined)
      }
    })
    it('refuses other types, other charsets and compressed bodies with 415', () => {
      for (const headers of [{}, { 'content-type': 'text/json' }, { 'content-type': 'application/json; charset=utf-16' }, { 'content-type': 'application/json', 'content-encoding': 'deflate' }]) {
        expect(outcome(checkContentType(headers)), JSON.stringify(headers)).to.equal('webhook.media.unsupported')
      }
    })
    it('treats Content-Encoding: identity as no encoding', () => {
      expect(outcome(checkContentType({ 'content-type': 'application/json', 'content-encoding': 'identity' }))).to.equal(undefined)
    })
  })

  describe('parseJson', () => {
    it('parses UTF-8 JSON and strips a leading byte order mark', () => {
      expect(outcome(parseJson(Buffer.from('{"a":"é"}')))).to.deep.equal({ a: 'é' })
      expect(outcome(parseJson(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')])))).to.deep.equal({ a: 1 })
    })
    it('refuses invalid UTF-8 instead of replacing it', () => {
      expect(outcome(parseJson(Buffer.from([0x22, 0xc3, 0x28, 0x22])))).to.equal('webhook.body.malformed')
    })
    it('refuses empty, whitespace-only and truncated bodies', () => {
      for (const text of ['', '  \n', '{"a":', '{a:1}', "{'a':1}"]) expect(outcome(parseJson(text)), text).to.equal('webhook.body.malformed')
    })
    it('keeps __proto__ as a plain own key, never as the prototype', () => {
      const result = parseJson('{"__proto__":{"polluted":true}}')
      if (E.isLeft(result)) return expect.fail('expected the JSON to parse')
      const value: unknown = result.right
      expect(typeof value === 'object' && value !== null && Object.hasOwn(value, '__proto__')).to.equal(true)
      expect(Object.getPrototypeOf(value)).to.equal(Object.prototype)
      expect(Object.prototype).not.to.have.property('polluted')
    })
  })

  describe('closeAfterAnswer', () => {
    // A server that refuses every request from its headers, as the pipeline does for bad credentials.
    const refusing = async (): Promise<{ server: Server; port: number; read: () => number }> => {
      let read = 0
      const server = createServer((req, res) => {
        req.socket.once('close', () => void (read += req.socket.bytesRead))
        closeAfterAnswer(req)
        res.statusCode = 401
        res.end('refused')
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const address: AddressInfo | string | null = server.address()
      if (address === null || typeof address === 'string') throw new Error('expected a TCP address')
      return { server, port: address.port, read: () => read }
    }
    const stop = async (server: Server) => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }

    it('keeps the connection of a sender whose body ends within the allowance', async () => {
      const { server, port } = await refusing()
      const socket = connect(port, '127.0.0.1')
      try {
        const body = 'x'.repeat(10_000)
        const one = `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n${body}`
        let received = ''
        socket.on('data', (d: Buffer) => void (received += d.toString('latin1')))
        socket.write(one + one)
        for (let waited = 0; received.split('HTTP/1.1 401').length < 3 && waited < 2000; waited += 10) await sleep(10)
        expect(received.split('HTTP/1.1 401').length - 1, 'two answers on one connection').to.equal(2)
        expect(socket.destroyed).to.equal(false)
      } finally {
        socket.destroy()
        await stop(server)
      }
    })

    it(`closes the connection once more than ${LINGER_MAX_BYTES} bytes arrived after the answer`, async () => {
      const { server, port, read } = await refusing()
      try {
        const streamed = await streamChunked(port, { path: '/', headers: [], total: 20 * 1024 * 1024, chunkSize: 64 * 1024, pauseMs: 0 })
        expect(streamed.answer?.status).to.equal(401)
        expect(streamed.sent).to.be.below(4 * 1024 * 1024)
        for (let waited = 0; read() === 0 && waited < 1000; waited += 10) await sleep(10)
        expect(read()).to.be.within(1, LINGER_MAX_BYTES + 2 * 1024 * 1024)
      } finally {
        await stop(server)
      }
    })
  })
})
