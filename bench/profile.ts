import { mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { PARTNERS } from './bodies.js'
import { startServer, stopAll } from './children.js'
import { HTTP_FULL, load, serversFor } from './http.js'

// Profiles one bench server under the same load as `npm run bench`:
//   npx tsx bench/profile.ts <musement|aboutyou> <baseline|ours|openapi|ajv> [seconds] [out-dir]
// and writes a V8 .cpuprofile (by default into $TMPDIR/epw-profiles) (open it in Chrome DevTools > Performance, or VS Code).

const [partnerArg, roleArg, secondsArg = '8', outArg = join(tmpdir(), 'epw-profiles')] = process.argv.slice(2)
const partner = PARTNERS.find((p) => p === partnerArg)
const spec = partner === undefined ? undefined : serversFor(partner).find((s) => s.role === roleArg)
if (partner === undefined || spec === undefined) {
  console.error('usage: npx tsx bench/profile.ts <musement|aboutyou> <baseline|ours|openapi|ajv> [seconds] [out-dir]')
  process.exit(2)
}
const dir = resolve(outArg)
mkdirSync(dir, { recursive: true })
try {
  const server = await startServer(spec.label, spec.file, spec.args, ['--cpu-prof', `--cpu-prof-dir=${dir}`])
  await load(server.port, partner, 2, HTTP_FULL)
  const { result } = await load(server.port, partner, Number(secondsArg), HTTP_FULL)
  console.log(`${spec.label} on ${partner} bodies: ${Math.round(result.requests.total / result.duration)} req/s while profiling`)
  await server.disconnect()
  console.log(`profile written to ${dir}`)
} finally {
  await stopAll()
}
