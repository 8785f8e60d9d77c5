import { fixed, grouped, ratio, table, verdict } from './report.js'
import type { DecodeSeries, DecodeSize, Timing } from './results.js'

// The decode benchmark's size tables and targets, printed by bench/decode.ts run alone and by bench/run.ts.

const per = (s: DecodeSize, tm: Timing): number => tm.medianNs / s.items

/** One partner's sizes: ns per item of each way and each way's time over ajv's, measured in the same run. */
export const sizeTable = (series: DecodeSeries): string => {
  const at100 = series.sizes.find((s) => s.items === 100)
  return table(
    ['items', 'body bytes', 'io-ts ns/item', 'compiled ns/item', 'decodeWith ns/item', 'prepareJson ns/item', 'ajv ns/item', 'io-ts / ajv', 'compiled / ajv', 'decodeWith / ajv', 'decodeWith ns/item vs 100 items'],
    series.sizes.map((s) => [
      grouped(s.items), grouped(s.bytes), fixed(per(s, s.codec)), fixed(per(s, s.compiled)), fixed(per(s, s.pipeline)), fixed(per(s, s.prepare)), fixed(per(s, s.ajv)),
      ratio(s.codec.medianNs, s.ajv.medianNs), ratio(s.compiled.medianNs, s.ajv.medianNs), ratio(s.pipeline.medianNs, s.ajv.medianNs),
      at100 === undefined ? 'n/a' : ratio(per(s, s.pipeline), per(at100, at100.pipeline))
    ])
  )
}

/** The issue 16 targets for one partner: within 1.5 x of ajv at every size (decodeWith, and the compiled decoder), linear. */
export const sizeTargets = ({ partner, sizes }: DecodeSeries): string[] => {
  const worst = (pick: (s: DecodeSize) => Timing) => Math.max(...sizes.map((s) => pick(s).medianNs / s.ajv.medianNs))
  const pipeline = worst((s) => s.pipeline)
  const compiled = worst((s) => s.compiled)
  const at100 = sizes.find((s) => s.items === 100)
  const big = sizes.find((s) => s.items === 10_000)
  const growth = at100 === undefined || big === undefined ? NaN : per(big, big.pipeline) / per(at100, at100.pipeline)
  return [
    `${partner}, decodeWith within 1.5 x of ajv at 1 to 10,000 items: worst ${pipeline.toFixed(2)}x -> ${verdict(pipeline <= 1.5)}`,
    `${partner}, compiled decoder alone within 1.5 x of ajv at 1 to 10,000 items: worst ${compiled.toFixed(2)}x -> ${verdict(compiled <= 1.5)}`,
    `${partner}, decodeWith linear (ns/item at 10,000 items within 1.5 x of 100 items): ${growth.toFixed(2)}x -> ${verdict(growth <= 1.5)}`
  ]
}
