import { expect } from 'chai'
import { webhookShutdown } from '../../lib/core/shutdown.js'

describe('core/shutdown', () => {
  it('closes at once with nothing in flight', async () => {
    const shutdown = webhookShutdown()
    expect(shutdown.closing).to.equal(false)
    expect(await shutdown.close()).to.deep.equal({ finished: 0, released: 0 })
    expect(shutdown.closing).to.equal(true)
  })

  it('waits for deliveries in flight, counting those that finish', async () => {
    const shutdown = webhookShutdown()
    const a = shutdown.enter()
    const b = shutdown.enter()
    a.claimed(async () => undefined)
    b.claimed(async () => undefined)
    setTimeout(() => a.leave(), 20)
    setTimeout(() => b.leave(), 40)
    expect(await shutdown.close({ timeoutMs: 5000 })).to.deep.equal({ finished: 2, released: 0 })
  })

  it('releases the claims still held at the deadline, and only those', async () => {
    const shutdown = webhookShutdown()
    const released: string[] = []
    const held = shutdown.enter()
    held.claimed(async () => void released.push('held'))
    shutdown.enter() // still asking the store for its claim: nothing to release yet
    const done = shutdown.enter()
    done.claimed(async () => void released.push('done'))
    done.leave()
    expect(await shutdown.close({ timeoutMs: 30 })).to.deep.equal({ finished: 0, released: 1 })
    expect(released).to.deep.equal(['held'])
    held.leave() // a late settle changes nothing
  })
})
