import { mkdirSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { PARTNERS } from './bodies.js'
import { startServer, stopAll } from './children.js'
import { HTTP_FULL, load, serversFor } from './http.js'
import { summarizeProfile } from './profile-summary.js'

// Profiles one bench server under the same load as `npm run bench`:
//   npx tsx bench/profile.ts <musement|aboutyou> <baseline|express|node|ours|openapi|ajv> [seconds] [out-dir]
// and writes a V8 .cpuprofile (by default into $TMPDIR/epw-profiles) (open it in Chrome DevTools > Performance, or VS Code),
// then prints where the server's CPU time went, per request (bench/profile-summary.ts).

const [partnerArg, roleArg, secondsArg = '8', outArg = join(tmpdir(), 'epw-profiles')] = process.argv.slice(2)
const partner = PARTNERS.find((p) => p === partnerArg)
const spec = partner === undefined ? undefined : serversFor(partner).find((s) => s.role === roleArg)
if (partner === undefined || spec === undefined) {
  console.error('usage: npx tsx bench/profile.ts <musement|aboutyou> <baseline|express|node|ours|openapi|ajv> [seconds] [out-dir]')
  process.exit(2)
}
const dir = resolve(outArg)
mkdirSync(dir, { recursive: true })
try {
  const server = await startServer(spec.label, spec.file, spec.args, ['--cpu-prof', `--cpu-prof-dir=${dir}`])
  const before = new Set(readdirSync(dir))
  const warm = await load(server.port, partner, 2, HTTP_FULL)
  const { result } = await load(server.port, partner, Number(secondsArg), HTTP_FULL)
  console.log(`${spec.label} on ${partner} bodies: ${Math.round(result.requests.total / result.duration)} req/s while profiling`)
  await server.disconnect()
  const written = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && !before.has(f))
  const file = written[0]
  if (file === undefined) throw new Error(`no new .cpuprofile in ${dir}`)
  console.log(`profile written to ${join(dir, file)}`)
  // Every request of the warm-up and of the measured load is in the profile (with the server's start-up).
  const summary = summarizeProfile(join(dir, file), warm.result.requests.total + result.requests.total)
  console.log(`\nCPU per request: ${summary.busyUsPerRequest.toFixed(1)} us (self time by kind of code; idle left out)`)
  for (const s of summary.kinds) console.log(`${s.usPerRequest.toFixed(1).padStart(8)} us  ${s.name}`)
  console.log('\nexpress-partner-webhooks functions, self time:')
  for (const s of summary.ours) console.log(`${s.usPerRequest.toFixed(2).padStart(8)} us  ${s.name}`)
} finally {
  await stopAll()
}
