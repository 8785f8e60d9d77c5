import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import ts from 'typescript'

// `npm run docs` builds the API reference from TSDoc; typedoc.json requires every export to be documented and
// every link to resolve. This runs the same validation without writing files, warnings counted as errors.
describe('API reference (typedoc)', function () {
  this.timeout(120_000)

  it('documents every public export, with no broken links', async () => {
    const root = fileURLToPath(new URL('..', import.meta.url))
    const typedoc = fileURLToPath(new URL('../node_modules/typedoc/bin/typedoc', import.meta.url))
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [typedoc, '--emit', 'none', '--treatWarningsAsErrors'], {
      cwd: root,
      timeout: 110_000
    })
    expect(`${stdout}${stderr}`).not.to.match(/warning|error/i)
  })
})

// The README's complete apps (code blocks whose first line is `// A complete app`) compile as they stand, with the
// package name pointed at this repository's sources, under the project's strict settings.
describe('README (complete apps compile as is)', function () {
  this.timeout(120_000)

  it('type-checks every complete app of the README', () => {
    const root = fileURLToPath(new URL('..', import.meta.url))
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    const blocks = [...readme.matchAll(/```ts\n(\/\/ A complete app[^\n]*\n[\s\S]*?)```/g)].map((m) => m[1] ?? '')
    expect(blocks.length, 'complete apps in the README').to.be.at.least(3)
    const dir = join(root, '.tmp', 'readme')
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    const files = blocks.map((code, i) => {
      const file = join(dir, `app-${i + 1}.ts`)
      const local = code
        .replace(/from 'express-partner-webhooks\/testing'/g, "from '../../lib/testing/index.js'")
        .replace(/from 'express-partner-webhooks\/opentelemetry'/g, "from '../../lib/opentelemetry/index.js'")
        .replace(/from 'express-partner-webhooks\/handoff'/g, "from '../../lib/handoff/index.js'")
        .replace(/from 'express-partner-webhooks'/g, "from '../../lib/index.js'")
      writeFileSync(file, `export {}\n${local}`)
      return file
    })
    const { config } = ts.readConfigFile(join(root, 'tsconfig.json'), (p) => ts.sys.readFile(p))
    const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root)
    const program = ts.createProgram(files, { ...options, noEmit: true })
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file !== undefined && files.includes(d.file.fileName))
      .map((d) => `${d.file?.fileName.slice(root.length)}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`)
    expect(problems).to.deep.equal([])
  })
})
