import { expect } from 'chai'
import { callHook as callHookWith } from '../../lib/core/hooks.js'
import { processWarnings, type Logger } from '../../lib/core/logger.js'

// The default logger: process warnings.
const callHook = <T>(hook: (value: T) => void | Promise<void>, value: T): void => callHookWith(hook, value, processWarnings)

/** Collects the process warnings emitted while `run` runs and a few ticks after. */
const warningsDuring = async (run: () => void): Promise<string[]> => {
  const warnings: string[] = []
  const onWarning = (w: Error): void => void warnings.push(w.message)
  process.on('warning', onWarning)
  try {
    run()
    await new Promise((resolve) => setTimeout(resolve, 10))
  } finally {
    process.off('warning', onWarning)
  }
  return warnings
}

describe('core/hooks', () => {
  it('logs a failure to the logger it is given, with the error, and names the hook', async () => {
    const lines: Array<[string, object, string]> = []
    const logger: Logger = {
      debug: (c, m) => void lines.push(['debug', c, m]),
      info: (c, m) => void lines.push(['info', c, m]),
      warn: (c, m) => void lines.push(['warn', c, m]),
      error: (c, m) => void lines.push(['error', c, m])
    }
    const boom = new Error('metrics down')
    const warnings = await warningsDuring(() =>
      callHookWith(
        () => {
          throw boom
        },
        1,
        logger,
        'onOutcome hook'
      )
    )
    expect(warnings).to.deep.equal([])
    expect(lines).to.deep.equal([['error', { err: boom }, 'a webhook onOutcome hook failed']])
  })

  it('calls the hook with the value', async () => {
    const seen: number[] = []
    expect(await warningsDuring(() => callHook((n: number) => void seen.push(n), 7))).to.deep.equal([])
    expect(seen).to.deep.equal([7])
  })

  it('turns a thrown error into a process warning', async () => {
    const warnings = await warningsDuring(() =>
      callHook(() => {
        throw new Error('metrics down')
      }, 1)
    )
    expect(warnings).to.deep.equal(['a webhook hook failed: metrics down'])
  })

  it('turns a rejected promise into a process warning instead of an unhandled rejection', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      const warnings = await warningsDuring(() => callHook(async () => Promise.reject(new Error('log sink down')), 1))
      expect(warnings).to.deep.equal(['a webhook hook failed: log sink down'])
      expect(unhandled).to.deep.equal([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('survives a thrown value that cannot be turned into a string', async () => {
    const warnings = await warningsDuring(() =>
      callHook(() => {
        throw Object.create(null)
      }, 1)
    )
    expect(warnings).to.deep.equal(['a webhook hook failed: a value that cannot be printed'])
  })
})
