import type { RetryOptions } from 'bullmq'
import * as E from 'fp-ts/lib/Either.js'
import { HandOffJobData } from './job.js'

/** What replay needs of a BullMQ job; a `Job` satisfies it as is. */
export interface DeadLetterJob {
  readonly id?: string | undefined
  readonly name: string
  readonly data: unknown
  readonly attemptsMade: number
  readonly failedReason: string
  readonly finishedOn?: number | undefined
  /** Whether the job is in the failed set now. */
  isFailed(): Promise<boolean>
  /** Moves a failed (or completed) job back to waiting. */
  retry(state?: 'completed' | 'failed', opts?: RetryOptions): Promise<void>
}

/** What replay needs of a BullMQ queue; a `Queue` satisfies it as is. */
export interface DeadLetterQueue {
  /** The failed jobs from index `start` to `end` (inclusive), newest first. */
  getFailed(start?: number, end?: number): Promise<ReadonlyArray<DeadLetterJob>>
  /** The job with this id, if it exists. */
  getJob(id: string): Promise<DeadLetterJob | undefined>
}

/** A job that failed its last attempt, as {@link listDeadLetters} describes it. */
export interface DeadLetter {
  readonly jobId: string
  /** The job's name: the partner. */
  readonly partner: string
  /** The delivery key, if the job is a hand-off job. */
  readonly key: string | undefined
  readonly attemptsMade: number
  /** The last attempt's error message. */
  readonly failedReason: string
  readonly failedAt: Date | undefined
  readonly receivedAt: Date | undefined
}

/** What {@link replayDeadLetters} did: the ids put back, and those that were not (or no longer) dead letters. */
export interface Replay {
  readonly replayed: ReadonlyArray<string>
  readonly notDeadLetters: ReadonlyArray<string>
}

const PAGE = 100

const describe = (job: DeadLetterJob): DeadLetter => {
  const data = HandOffJobData.decode(job.data)
  return {
    jobId: job.id ?? '',
    partner: job.name,
    key: E.isRight(data) ? data.right.key : undefined,
    attemptsMade: job.attemptsMade,
    failedReason: job.failedReason,
    failedAt: job.finishedOn === undefined ? undefined : new Date(job.finishedOn),
    receivedAt: E.isRight(data) ? new Date(data.right.receivedAt) : undefined
  }
}

/**
 * The dead letters of a hand-off queue (BullMQ's failed set: jobs whose last attempt failed), newest first, at most
 * `limit` of them (default 1000).
 *
 * @example
 * for (const d of await listDeadLetters(queue)) console.log(d.jobId, d.key, d.failedReason)
 */
export const listDeadLetters = async (queue: DeadLetterQueue, limit = 1000): Promise<ReadonlyArray<DeadLetter>> => {
  const letters: DeadLetter[] = []
  for (let start = 0; letters.length < limit; start += PAGE) {
    const page = await queue.getFailed(start, start + PAGE - 1)
    letters.push(...page.slice(0, limit - letters.length).map(describe))
    if (page.length < PAGE) break
  }
  return letters
}

/**
 * Puts dead letters back on the queue with a full set of attempts: the ones named by `ids`, or every one (`'all'`,
 * as many as there were when the call began). The worker applies the usual rules to each, so a delivery that was
 * handled meanwhile is not handled again (`duplicate`) and an older version after a newer one is skipped (`stale`).
 *
 * @example
 * const { replayed } = await replayDeadLetters(queue, 'all')
 */
export const replayDeadLetters = async (queue: DeadLetterQueue, ids: 'all' | ReadonlyArray<string>): Promise<Replay> => {
  const wanted = ids === 'all' ? (await listDeadLetters(queue, Number.MAX_SAFE_INTEGER)).map((d) => d.jobId) : ids
  const replayed: string[] = []
  const notDeadLetters: string[] = []
  for (const id of wanted) {
    const job = await queue.getJob(id)
    if (job === undefined || !(await job.isFailed())) {
      notDeadLetters.push(id)
      continue
    }
    try {
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true })
      replayed.push(id)
    } catch {
      // Retried by someone else (the dashboard) or removed between the two calls.
      notDeadLetters.push(id)
    }
  }
  return { replayed, notDeadLetters }
}
