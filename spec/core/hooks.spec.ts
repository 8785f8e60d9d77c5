import { expect } from 'chai'
import { callHook } from '../../lib/core/hooks.js'

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
