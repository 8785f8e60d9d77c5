import type { Express } from 'express'
import { realpathSync } from 'node:fs'
import type { Server } from 'node:http'
import { fileURLToPath } from 'node:url'

/** True when `moduleUrl` is the file node (or tsx) was asked to run, rather than a module imported by a spec. */
export const isMain = (moduleUrl: string): boolean =>
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(moduleUrl))

/** Listens on PORT (default 3000) and prints `banner(port)` once the server is up. */
export const serve = (app: Express, banner: (port: number) => string): Server => {
  const server = app.listen(Number(process.env.PORT ?? 3000), () => {
    const address = server.address()
    const port = typeof address === 'object' && address !== null ? address.port : 0
    console.log(banner(port))
  })
  return server
}
