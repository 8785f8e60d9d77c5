import * as t from 'io-ts'

/** What a spec/helpers/crash-app.ts instance tells the crash spec over IPC. */
export const CrashMessage = t.union([
  /** Started and connected, waiting for `listen`. */
  t.type({ type: t.literal('ready') }),
  t.type({ type: t.literal('listening') }),
  /** A handler started on `key` (the delivery's claim is held from here until `leave`). */
  t.type({ type: t.literal('enter'), key: t.string }),
  /** The request for `key` ended (after its claim was completed or released). */
  t.type({ type: t.literal('leave'), key: t.string })
])
export type CrashMessage = t.TypeOf<typeof CrashMessage>

/** What the crash spec tells an instance: take over a killed instance's port. */
export const ListenCommand = t.type({ type: t.literal('listen'), port: t.number, instance: t.number })
export type ListenCommand = t.TypeOf<typeof ListenCommand>
