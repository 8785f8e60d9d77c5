import { expect } from 'chai'
import { spawn, execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import * as musementHandler from '../examples/musement-handler.js'
import * as musementNext from '../examples/musement-next.js'
import * as musementRouter from '../examples/musement-router.js'
import { basicAuthHeader } from '../lib/testing/index.js'
import { postDelivery } from './helpers/deliver.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const musementPayload = readFileSync(new URL('../examples/payloads/musement-order-item.json', import.meta.url))
const musementAuth = { Authorization: basicAuthHeader('musement', 'change-me') }

describe('examples', () => {
  const musementExamples = [
    ['musement-handler', musementHandler.createApp],
    ['musement-next', musementNext.createApp],
    ['musement-router', musementRouter.createApp]
  ] as const
  for (const [file, createApp] of musementExamples) {
    it(`${file}.ts answers the vendor example 200 and a wrong password 401`, async () => {
      const events: unknown[] = []
      const app = createApp((event) => void events.push(event))
      expect((await postDelivery(app, '/webhooks/musement', musementPayload, musementAuth)).status).to.equal(200)
      const wrong = await postDelivery(app, '/webhooks/musement', musementPayload, { Authorization: basicAuthHeader('musement', 'nope') })
      expect(wrong.status).to.equal(401)
      expect(events).to.have.length(1)
    })
  }

  it('every example file is covered by a spec', () => {
    const files = readdirSync(new URL('../examples/', import.meta.url)).filter((f) => f.endsWith('.ts') && f !== 'serve.ts')
    const covered = readFileSync(fileURLToPath(import.meta.url), 'utf8')
    for (const f of files) expect(covered, `examples/${f}`).to.contain(f.replace(/\.ts$/, ''))
  })

  describe('npm run example (examples/main.ts)', function () {
    this.timeout(30_000)

    it('starts, prints curl lines that work from the project root, and each gets the status it promises', async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'examples/main.ts'], {
        cwd: root,
        env: { ...process.env, PORT: '0' },
        stdio: ['ignore', 'pipe', 'pipe']
      })
      try {
        let output = ''
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no banner in time: ${output}`)), 20_000)
          child.stdout.on('data', () => {
            if (!/listening on/.test(output)) return
            clearTimeout(timer)
            setTimeout(resolve, 300) // the banner is printed at once; leave time for the pipe to deliver it all
          })
          child.once('exit', (code) => reject(new Error(`example exited with ${code}: ${output}`)))
        })
        const lines = output.split('\n')
        const checks = lines.flatMap((line, i) => {
          const expected = /\(expect (\d{3})\)/.exec(line)?.[1]
          const next = lines[i + 1]?.trim()
          return expected !== undefined && next?.startsWith('curl ') ? [{ expected: Number(expected), command: next }] : []
        })
        expect(checks.length, output).to.be.at.least(2)
        for (const { expected, command } of checks) {
          // -s -o /dev/null -w '%{http_code}' appended so the status can be read; the printed line is run as is.
          const { stdout } = await promisify(execFile)('sh', ['-c', `${command} -s -o /dev/null -w '%{http_code}'`], { cwd: root })
          expect(Number(stdout), command).to.equal(expected)
        }
        expect(output).to.contain('musement order item 11045e18-e3ca-42e1-acb4-0d5be75036fd v22 is OK')
      } finally {
        child.kill()
      }
    })
  })
})
