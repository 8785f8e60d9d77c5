import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** Serves `listener` on a free port of 127.0.0.1. */
export const listen = async (listener: RequestListener): Promise<Server> => {
  const server = createServer(listener).listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  return server
}

/** The base URL of a server `listen` started. */
export const urlOf = (server: Server): string => {
  const address: AddressInfo | string | null = server.address()
  if (address === null || typeof address === 'string') throw new Error('the test server has no TCP address')
  return `http://127.0.0.1:${address.port}`
}
