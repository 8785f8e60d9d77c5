import { createHash, timingSafeEqual } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type RequestListener } from 'node:http'
import type { Response } from 'express'
import { PARTNERS, partnerHeaders, type Partner } from '../bodies.js'

// What every bench server shares: it listens on 127.0.0.1 (PORT, default 0 = any free port), tells the parent its
// port over IPC (and prints it, for a manual run), answers CPU-usage queries, and exits with its parent.

/** The partner a server process is for, from its first argument. */
export const partnerArg = (): Partner => {
  const arg = process.argv[2]
  const partner = PARTNERS.find((p) => p === arg)
  if (partner === undefined) throw new Error(`expected the partner as first argument: ${PARTNERS.join(' or ')}, got ${String(arg)}`)
  return partner
}

/** The 200 answer every bench route gives, the same JSON the middleware sends for a processed delivery. */
export const ok = (res: Response): void => {
  res.status(200).json({ status: 'processed' })
}

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest()

/**
 * How the reference servers authenticate: the credential header compared in constant time with the expected value,
 * which is what the middleware does (a hand-rolled webhook route must check the sender too).
 */
export const credentialCheck = (partner: Partner): ((value: unknown) => boolean) => {
  const name = partner === 'musement' ? 'authorization' : 'x-api-key'
  const expected = digest(partnerHeaders(partner)[name] ?? '')
  return (value) => typeof value === 'string' && timingSafeEqual(digest(value), expected)
}

export const credentialHeader = (partner: Partner): string => (partner === 'musement' ? 'authorization' : 'x-api-key')

/** Serves `app` (an Express app, or a bare `node:http` listener) on 127.0.0.1. */
export const listen = async (app: RequestListener): Promise<void> => {
  const server = createServer(app).listen(Number(process.env.PORT ?? '0'), '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : undefined
  if (port === undefined) throw new Error('the server has no TCP address')
  process.stdout.write(`${process.argv[1] ?? 'server'} listening on http://127.0.0.1:${port}\n`)
  if (process.send === undefined) return
  process.send({ type: 'listening', port })
  process.on('message', (message: unknown) => {
    if (typeof message === 'object' && message !== null && 'type' in message && message.type === 'cpu') {
      const { user, system } = process.cpuUsage()
      process.send?.({ type: 'cpu', user, system })
    }
  })
  // Started by the orchestrator: never outlive it, whatever way it ended.
  process.on('disconnect', () => process.exit(0))
}
