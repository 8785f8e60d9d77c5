import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

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
