import * as E from 'fp-ts/lib/Either.js'
import type * as t from 'io-ts'
import { Bench } from 'tinybench'
import { aboutYouEventCodec, AboutYouOrderItemsShipped, decodeWith, MusementOrderItem } from '../lib/index.js'
import { ABOUT_YOU_EXAMPLE, aboutYouBodyWithItems, MUSEMENT_EXAMPLE, readFixture } from './bodies.js'
import type { DecodeMessage, DecodePair, DecodeSize, Timing } from './results.js'
import { ajvValidator } from './schemas.js'

// Child process: codec decode vs an ajv-compiled validator of the same schema, on the same parsed bodies. ajv only
// answers true or false; a codec also builds the decoded event (Dates, numbers from digit strings, defaults), so it
// allocates a new object graph that ajv never does. Run with `--quick` for short sampling.

const quick = process.argv.includes('--quick')
const SIZES = [1, 10, 100, 1_000, 10_000] as const

const validateMusement = ajvValidator('musement')
const validateAboutYou = ajvValidator('aboutyou')
const shippedAsMiddleware = aboutYouEventCodec(['order_items.shipped'])

// Results go here so the optimizer cannot drop the work.
let sink: unknown

const codecTask = (codec: t.Decoder<unknown, unknown>, body: unknown) => {
  if (E.isLeft(codec.decode(body))) throw new Error(`${codec.name} refuses the bench body`)
  return () => {
    sink = codec.decode(body)
  }
}

const ajvTask = (validate: (u: unknown) => boolean, body: unknown) => {
  if (!validate(body)) throw new Error('ajv refuses the bench body')
  return () => {
    sink = validate(body)
  }
}

// What the pipeline runs on a parsed body: decodeWith adds its own checks of the JSON (and the error mapping).
const pipelineTask = (codec: t.Decoder<unknown, unknown>, body: unknown) => {
  const decode = decodeWith(codec)
  if (E.isLeft(decode(body))) throw new Error(`decodeWith(${codec.name}) refuses the bench body`)
  return () => {
    sink = decode(body)
  }
}

const measure = async (tasks: ReadonlyArray<readonly [string, () => void]>, budgetMs: number): Promise<Map<string, Timing>> => {
  const bench = new Bench({ time: budgetMs, warmupTime: Math.max(20, budgetMs / 4) })
  for (const [name, fn] of tasks) bench.add(name, fn)
  await bench.run()
  const timings = new Map<string, Timing>()
  for (const task of bench.tasks) {
    const r = task.result
    if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state}`)
    timings.set(task.name, { medianNs: r.latency.p50 * 1e6, meanNs: r.latency.mean * 1e6, rme: r.latency.rme, samples: r.latency.samplesCount })
  }
  return timings
}

const get = (timings: Map<string, Timing>, name: string): Timing => {
  const timing = timings.get(name)
  if (timing === undefined) throw new Error(`no timing for ${name}`)
  return timing
}

const musement = readFixture(MUSEMENT_EXAMPLE)
const aboutYou = readFixture(ABOUT_YOU_EXAMPLE)
const examples = await measure(
  [
    ['musement codec', codecTask(MusementOrderItem, musement)],
    ['musement decodeWith', pipelineTask(MusementOrderItem, musement)],
    ['musement ajv', ajvTask(validateMusement, musement)],
    ['aboutyou codec', codecTask(AboutYouOrderItemsShipped, aboutYou)],
    ['aboutyou middleware codec', pipelineTask(shippedAsMiddleware, aboutYou)],
    ['aboutyou ajv', ajvTask(validateAboutYou, aboutYou)]
  ],
  quick ? 150 : 1000
)
const pairs: DecodePair[] = [
  { body: 'Musement example', codecName: 'MusementOrderItem.decode', codec: get(examples, 'musement codec'), ajv: get(examples, 'musement ajv') },
  {
    body: 'Musement example',
    codecName: 'decodeWith(MusementOrderItem) (what the pipeline runs)',
    codec: get(examples, 'musement decodeWith'),
    ajv: get(examples, 'musement ajv')
  },
  { body: 'About You example', codecName: 'AboutYouOrderItemsShipped.decode', codec: get(examples, 'aboutyou codec'), ajv: get(examples, 'aboutyou ajv') },
  {
    body: 'About You example',
    codecName: "decodeWith(aboutYouEventCodec(['order_items.shipped'])) (what the pipeline runs)",
    codec: get(examples, 'aboutyou middleware codec'),
    ajv: get(examples, 'aboutyou ajv')
  }
]

const sizes: DecodeSize[] = []
for (const items of SIZES) {
  const text = aboutYouBodyWithItems(items)
  const body: unknown = JSON.parse(text)
  // Fewer samples fit the budget for big bodies; give them more time so the median stays stable.
  const budget = (quick ? 100 : 600) * (items >= 1_000 ? 2 : 1)
  const timings = await measure(
    [
      ['codec', codecTask(AboutYouOrderItemsShipped, body)],
      ['pipeline', pipelineTask(shippedAsMiddleware, body)],
      ['ajv', ajvTask(validateAboutYou, body)]
    ],
    budget
  )
  sizes.push({ items, bytes: Buffer.byteLength(text), codec: get(timings, 'codec'), pipeline: get(timings, 'pipeline'), ajv: get(timings, 'ajv') })
}

void sink
const message: DecodeMessage = { type: 'decode', pairs, sizes }
if (process.send !== undefined) process.send(message)
else console.log(JSON.stringify(message, null, 2))
