// `express-partner-webhooks/handoff`: hand-off to a BullMQ queue. Named re-exports only; apps that do not use
// BullMQ never load this entry point (bullmq is an optional peer dependency).
export type { HandOff, HandOffJob } from '../core/hand-off.js'
export {
  bullmqHandOff,
  DEFAULT_ATTEMPTS,
  DEFAULT_BACKOFF,
  DEFAULT_ENQUEUE_TIMEOUT_MS,
  DEFAULT_KEEP_COMPLETED_SECONDS,
  type BullmqHandOffOptions,
  type HandOffQueue
} from './bullmq.js'
export { handOffJobId, HandOffJobData } from './job.js'
export {
  listDeadLetters,
  replayDeadLetters,
  type DeadLetter,
  type DeadLetterJob,
  type DeadLetterQueue,
  type Replay
} from './replay.js'
export {
  startHandOffWorker,
  type HandOffDelivery,
  type HandOffHandler,
  type HandOffOutcome,
  type HandOffResult,
  type HandOffWorkerOptions
} from './worker.js'
