import { readFileSync } from 'node:fs'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'

// Where a profiled server's CPU time went, per request: the V8 .cpuprofile that `bench/profile.ts` writes, its samples'
// self time summed by kind of code and divided by the requests answered. "Idle" is left out of every figure.

const CallFrame = t.type({ functionName: t.string, url: t.string, lineNumber: t.number })
type CallFrame = t.TypeOf<typeof CallFrame>
const CpuProfile = t.type({
  nodes: t.array(t.type({ id: t.number, callFrame: CallFrame })),
  samples: t.array(t.number),
  timeDeltas: t.array(t.number)
})

/** A kind of code (or one function) and its CPU time per request, in µs. */
export interface Share {
  readonly name: string
  readonly usPerRequest: number
}

export interface ProfileSummary {
  readonly busyUsPerRequest: number
  readonly kinds: ReadonlyArray<Share>
  /** This package's own functions (lib/), by self time. */
  readonly ours: ReadonlyArray<Share>
}

const SOCKET_WRITES = new Set(['writev', 'writeBuffer', 'writeUtf8String', 'writeLatin1String', 'writeAsciiString'])
const EXPRESS_FAMILY = /node_modules\/(express|router|body-parser|raw-body|type-is|content-type|iconv-lite|on-finished|finalhandler|parseurl|qs|depd|http-errors|statuses|etag|fresh|send|accepts|negotiator|mime-types|mime-db|media-typer|encodeurl|escape-html|merge-descriptors|cookie|cookie-signature|vary|proxy-addr|forwarded|ipaddr\.js|path-to-regexp|range-parser|content-disposition|unpipe|bytes)\//

const kindOf = (f: CallFrame): string | undefined => {
  if (f.functionName === '(idle)') return undefined
  if (f.functionName === '(garbage collector)') return 'garbage collection'
  if (SOCKET_WRITES.has(f.functionName)) return 'socket writes (the kernel sending the answer)'
  if (EXPRESS_FAMILY.test(f.url)) return 'Express and its dependencies'
  if (/node_modules\/(fp-ts|io-ts|io-ts-types)\//.test(f.url)) return 'fp-ts / io-ts'
  if (f.url.includes('node_modules/')) return 'other packages (ajv, the tsx loader, ...)'
  if (/\/lib\/.*\.[cm]?[jt]s$/.test(f.url)) return 'express-partner-webhooks (lib/)'
  if (/^node:(_http|http|net|internal\/(streams|http|stream_base))/.test(f.url)) return 'Node: http, net, streams'
  if (f.url.startsWith('node:')) return 'Node: other'
  return 'V8 and native code'
}

const add = (m: Map<string, number>, k: string, v: number): void => void m.set(k, (m.get(k) ?? 0) + v)

const shares = (m: Map<string, number>, requests: number, top: number): Share[] =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => ({ name, usPerRequest: us / requests }))

/** Sums the self time of `file`'s samples by kind, per request. */
export const summarizeProfile = (file: string, requests: number): ProfileSummary => {
  const decoded = CpuProfile.decode(JSON.parse(readFileSync(file, 'utf8')))
  if (E.isLeft(decoded)) throw new Error(`${file} is not a V8 .cpuprofile`)
  const profile = decoded.right
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]))
  const kinds = new Map<string, number>()
  const ours = new Map<string, number>()
  let busy = 0
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id)
    const us = profile.timeDeltas[i] ?? 0
    const kind = frame === undefined ? undefined : kindOf(frame)
    if (frame === undefined || kind === undefined) return
    busy += us
    add(kinds, kind, us)
    if (kind.startsWith('express-partner-webhooks')) add(ours, `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/lib\//, 'lib/')}:${frame.lineNumber + 1}`, us)
  })
  return { busyUsPerRequest: busy / requests, kinds: shares(kinds, requests, 20), ours: shares(ours, requests, 15) }
}
