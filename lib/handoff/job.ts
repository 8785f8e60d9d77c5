import * as t from 'io-ts'

/**
 * A hand-off job as a worker reads it back from the queue. `data` is whatever is stored under the job, so it is
 * decoded like any other input; a job that does not match is not ours to run.
 */
export const HandOffJobData = t.intersection(
  [
    t.type({ partner: t.string, key: t.string, scope: t.string, event: t.unknown, receivedAt: t.number }),
    t.partial({ version: t.number, rawBody: t.string })
  ],
  'HandOffJob'
)

/** A hand-off job's data; `bullmqHandOff` stores a `HandOffJob` as this type, so the compiler checks they agree. */
export type HandOffJobData = t.TypeOf<typeof HandOffJobData>

/**
 * The queue's job id of a delivery key. BullMQ refuses custom ids that contain `:` or are integers, and every key
 * has colons (`musement:<uuid>:<version>`), so `%` and `:` are percent-escaped (reversibly: two keys never share
 * an id) and the partner's name goes first (so no id is an integer). The id stays readable in a dashboard.
 *
 * @example
 * handOffJobId('musement', 'musement:11045e18-e3ca-42e1-acb4-0d5be75036fd:22')
 * // 'musement/musement%3A11045e18-e3ca-42e1-acb4-0d5be75036fd%3A22'
 */
export const handOffJobId = (partner: string, key: string): string =>
  `${partner.replace(/[%:/]/g, escape)}/${key.replace(/[%:]/g, escape)}`

const escape = (c: string): string => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`
