import { expect } from 'chai'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

// Issue 15: the compiler catches the two classic mistakes and says what to fix. spec/fixtures/mistakes/mistakes.ts
// holds one mistake per line, marked `// MISTAKE <name>`; this compiles it with the project's settings and reads the
// diagnostics of each line.

const FILE = fileURLToPath(new URL('./fixtures/mistakes/mistakes.ts', import.meta.url))
const CONFIG = fileURLToPath(new URL('../tsconfig.json', import.meta.url))

const diagnosticsByMistake = (): Map<string, string> => {
  const { config } = ts.readConfigFile(CONFIG, (p) => ts.sys.readFile(p))
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, fileURLToPath(new URL('..', import.meta.url)))
  const program = ts.createProgram([FILE], { ...options, noEmit: true })
  const lines = readFileSync(FILE, 'utf8').split('\n')
  const found = new Map<string, string>()
  for (const d of ts.getPreEmitDiagnostics(program)) {
    if (d.file?.fileName !== FILE || d.start === undefined) continue
    const { line } = d.file.getLineAndCharacterOfPosition(d.start)
    const name = /\/\/ MISTAKE (\S+)/.exec(lines[line] ?? '')?.[1] ?? `line ${line + 1}`
    found.set(name, `${found.get(name) ?? ''}\n${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`)
  }
  return found
}

describe('types: mistakes the compiler catches', function () {
  this.timeout(60_000)
  let found: Map<string, string>
  before(() => {
    found = diagnosticsByMistake()
  })

  it('reports every marked mistake, and nothing else', () => {
    expect([...found.keys()].sort()).to.deep.equal(
      ['key-maybe-undefined', 'no-api-keys', 'no-credentials', 'uncalled-about-you', 'uncalled-about-you-webhooks', 'uncalled-musement'].sort()
    )
  })

  it('refuses a factory registered without being called (app.use(musementOrderItem))', () => {
    for (const name of ['uncalled-musement', 'uncalled-about-you', 'uncalled-about-you-webhooks']) {
      expect(found.get(name), name).to.contain('No overload matches this call')
    }
  })

  it("names the missing credential option, not only the opt-out", () => {
    expect(found.get('no-credentials')).to.match(/Property 'credentials' is missing/)
    expect(found.get('no-api-keys')).to.match(/Property 'apiKeys' is missing/)
  })

  it('points at `string | undefined` for a key read from the environment', () => {
    expect(found.get('key-maybe-undefined')).to.contain("Type 'string | undefined' is not assignable to type 'string | readonly string[]'")
  })
})
