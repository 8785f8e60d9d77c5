#!/usr/bin/env node
// `npx express-partner-webhooks replay ...`: list a hand-off queue's dead letters and put one or all of them back.
import { Queue } from 'bullmq'
import { parseArgs } from 'node:util'
import { listDeadLetters, replayDeadLetters, type DeadLetter } from './replay.js'

const USAGE = `usage: express-partner-webhooks replay --redis <url> --queue <name> [--prefix <prefix>] (--list | --all | --id <jobId> ...)

  --list        print the dead letters (jobs that failed their last attempt), newest first
  --all         put every dead letter back on the queue, with a full set of attempts
  --id <jobId>  put this one back (repeatable)

A worker handles a replayed job with the usual rules: a delivery handled since is not handled again.`

const line = (d: DeadLetter): string =>
  [d.jobId, d.key ?? '-', `attempts=${d.attemptsMade}`, `failed=${d.failedAt?.toISOString() ?? '-'}`, d.failedReason].join('\t')

const parse = (argv: ReadonlyArray<string>) =>
  parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      redis: { type: 'string' },
      queue: { type: 'string' },
      prefix: { type: 'string' },
      list: { type: 'boolean' },
      all: { type: 'boolean' },
      id: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' }
    }
  })

const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  let args: ReturnType<typeof parse>
  try {
    args = parse(argv)
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`)
    return 2
  }
  const { values, positionals } = args
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  const ids = values.id ?? []
  const actions = [values.list === true, values.all === true, ids.length > 0].filter(Boolean).length
  if (positionals.join(' ') !== 'replay' || values.redis === undefined || values.queue === undefined || actions !== 1) {
    process.stderr.write(`${USAGE}\n`)
    return 2
  }
  // A command-line run should fail at once when Redis cannot be reached, not retry forever.
  const connection = { url: values.redis, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null }
  const queue = new Queue(values.queue, { connection, ...(values.prefix === undefined ? {} : { prefix: values.prefix }) })
  queue.on('error', () => undefined)
  try {
    if (values.list === true) {
      const letters = await listDeadLetters(queue)
      for (const d of letters) process.stdout.write(`${line(d)}\n`)
      process.stdout.write(`${letters.length} dead letter(s) in ${values.queue}\n`)
      return 0
    }
    const { replayed, notDeadLetters } = await replayDeadLetters(queue, values.all === true ? 'all' : ids)
    for (const id of replayed) process.stdout.write(`replayed\t${id}\n`)
    for (const id of notDeadLetters) process.stdout.write(`not a dead letter\t${id}\n`)
    process.stdout.write(`${replayed.length} replayed, ${notDeadLetters.length} not dead letters\n`)
    return notDeadLetters.length === 0 ? 0 : 1
  } catch (err) {
    process.stderr.write(`express-partner-webhooks replay: ${err instanceof Error ? err.message : String(err)}\n`)
    return 1
  } finally {
    await queue.close().catch(() => undefined)
  }
}

main(process.argv.slice(2)).then(
  (code) => void (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`)
    process.exitCode = 1
  }
)
