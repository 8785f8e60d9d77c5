import * as E from 'fp-ts/lib/Either.js'
import type * as t from 'io-ts'
import { Bench } from 'tinybench'
import { prepareJson } from '../lib/core/decode.js'
import { aboutYouEventCodec, AboutYouOrderItemsShipped, compileDecoder, decodeWith, MusementOrderItem, NO_MATCH } from '../lib/index.js'
import { ABOUT_YOU_EXAMPLE, aboutYouBodyWithItems, MUSEMENT_EXAMPLE, musementBody, readFixture } from './bodies.js'
import { sizeTable, sizeTargets } from './decode-report.js'
import { ns, ratio, table } from './report.js'
import type { DecodeMessage, DecodePair, DecodeSeries, DecodeSize, Timing } from './results.js'
import { ajvOf, ajvValidator } from './schemas.js'
import { bookingBody, bookingSchema, BookingUpdate, StockCount, stockCountBody, stockCountSchema } from './user-partners.js'

// Child process: codec decode vs an ajv-compiled validator of the same schema, on the same parsed bodies. ajv only
// answers true or false; a codec also builds the decoded event (Dates, numbers from digit strings, defaults), so it
// allocates a new object graph that ajv never does. Run with `--quick` for short sampling. Run directly
// (`npx tsx bench/decode.ts [--quick]`) it prints its tables; forked by run.ts it sends them as a message.

const quick = process.argv.includes('--quick')
const SIZES = [1, 10, 100, 1_000, 10_000] as const

const validateMusement = ajvValidator('musement')
const validateAboutYou = ajvValidator('aboutyou')
const shippedAsMiddleware = aboutYouEventCodec(['order_items.shipped'])

// Results go here so the optimizer cannot drop the work.
let sink: unknown

interface Way {
  readonly run: (u: unknown) => unknown
  /** Whether the bench body is accepted (checked once, before timing). */
  readonly accepts: (u: unknown) => boolean
}

/** The ways a body is decoded. */
const ways = (codec: t.Decoder<unknown, unknown>, ajv: (u: unknown) => boolean) => {
  const pipeline = decodeWith(codec)
  const compiled = compileDecoder(codec)
  return {
    codec: { run: (u) => codec.decode(u), accepts: (u) => E.isRight(codec.decode(u)) },
    pipeline: { run: pipeline, accepts: (u) => E.isRight(pipeline(u)) },
    compiled: { run: compiled, accepts: (u) => compiled(u) !== NO_MATCH },
    // The __proto__ and -0 walk decodeWith ran before every decode until issue 16; now only on a refused body.
    prepare: { run: prepareJson, accepts: (u) => prepareJson(u) === undefined },
    ajv: { run: ajv, accepts: ajv }
  } satisfies Record<string, Way>
}
type Ways = ReturnType<typeof ways>
type WayName = keyof Ways

// One task decodes every body in `bodies`: one body of n items (About You, the stock count), or n bodies of one item
// each (Musement, the booking partner).
const task = ({ run, accepts }: Way, bodies: ReadonlyArray<unknown>, what: string) => {
  if (!bodies.every(accepts)) throw new Error(`${what} refuses the bench body`)
  if (bodies.length === 1) {
    const [body] = bodies
    return () => {
      sink = run(body)
    }
  }
  return () => {
    for (const body of bodies) sink = run(body)
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

const musementRuns = ways(MusementOrderItem, validateMusement)
const aboutYouRuns = ways(AboutYouOrderItemsShipped, validateAboutYou)
const middlewareRuns = ways(shippedAsMiddleware, validateAboutYou)

const musement = readFixture(MUSEMENT_EXAMPLE)
const aboutYou = readFixture(ABOUT_YOU_EXAMPLE)
const examples = await measure(
  [
    ['musement codec', task(musementRuns.codec, [musement], 'MusementOrderItem')],
    ['musement decodeWith', task(musementRuns.pipeline, [musement], 'decodeWith(MusementOrderItem)')],
    ['musement compiled', task(musementRuns.compiled, [musement], 'compileDecoder(MusementOrderItem)')],
    ['musement ajv', task(musementRuns.ajv, [musement], 'ajv')],
    ['aboutyou codec', task(aboutYouRuns.codec, [aboutYou], 'AboutYouOrderItemsShipped')],
    ['aboutyou middleware codec', task(middlewareRuns.pipeline, [aboutYou], 'decodeWith(aboutYouEventCodec)')],
    ['aboutyou middleware compiled', task(middlewareRuns.compiled, [aboutYou], 'compileDecoder(aboutYouEventCodec)')],
    ['aboutyou ajv', task(aboutYouRuns.ajv, [aboutYou], 'ajv')]
  ],
  quick ? 150 : 1000
)
const SHIPPED = "aboutYouEventCodec(['order_items.shipped'])"
const pair = (body: string, codecName: string, codec: string, ajv: string): DecodePair => ({ body, codecName, codec: get(examples, codec), ajv: get(examples, ajv) })
const pairs: DecodePair[] = [
  pair('Musement example', 'MusementOrderItem.decode', 'musement codec', 'musement ajv'),
  pair('Musement example', 'decodeWith(MusementOrderItem) (what the pipeline runs)', 'musement decodeWith', 'musement ajv'),
  pair('Musement example', 'compileDecoder(MusementOrderItem) (the compiled decoder alone)', 'musement compiled', 'musement ajv'),
  pair('About You example', 'AboutYouOrderItemsShipped.decode', 'aboutyou codec', 'aboutyou ajv'),
  pair('About You example', `decodeWith(${SHIPPED}) (what the pipeline runs)`, 'aboutyou middleware codec', 'aboutyou ajv'),
  pair('About You example', `compileDecoder(${SHIPPED}) (the compiled decoder alone)`, 'aboutyou middleware compiled', 'aboutyou ajv')
]

const WAYS: ReadonlyArray<WayName> = ['codec', 'pipeline', 'compiled', 'prepare', 'ajv']

/** Times every way of decoding `bodies` (n items in all) and returns one size row. */
const sizeRow = async (items: number, texts: ReadonlyArray<string>, plain: Ways, middleware: Ways): Promise<DecodeSize> => {
  const bodies: unknown[] = texts.map((text) => JSON.parse(text))
  // Fewer samples fit the budget for big bodies; give them more time so the median stays stable.
  const budget = (quick ? 100 : 600) * (items >= 1_000 ? 2 : 1)
  // The pipeline and the compiled decoder run the middleware's codec; io-ts and ajv the plain schema codec.
  const source = (way: WayName): Way => (way === 'pipeline' || way === 'compiled' ? middleware : plain)[way]
  // A sample of a few hundred nanoseconds is mostly timer and call overhead and jumps from run to run: below 1,000
  // items every way decodes the same bodies `reps` times per sample, and the times are divided by `reps`.
  const reps = Math.ceil(1_000 / items)
  const repeated = (run: () => void): (() => void) =>
    reps === 1
      ? run
      : () => {
          for (let r = 0; r < reps; r++) run()
        }
  const timings = await measure(WAYS.map((way) => [way, repeated(task(source(way), bodies, `${way} (${items} items)`))]), budget)
  const once = (name: string): Timing => {
    const tm = get(timings, name)
    return { ...tm, medianNs: tm.medianNs / reps, meanNs: tm.meanNs / reps }
  }
  const bytes = texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0)
  return { items, bytes, codec: once('codec'), pipeline: once('pipeline'), compiled: once('compiled'), prepare: once('prepare'), ajv: once('ajv') }
}

const series = async (partner: string, note: string, texts: (items: number) => ReadonlyArray<string>, plain: Ways, middleware: Ways): Promise<DecodeSeries> => {
  const sizes: DecodeSize[] = []
  for (const items of SIZES) sizes.push(await sizeRow(items, texts(items), plain, middleware))
  return { partner, note, sizes }
}

const bodies = (body: (n: number) => string) => (items: number) => Array.from({ length: items }, (_, n) => body(n))
const stockRuns = ways(StockCount, ajvOf(stockCountSchema))
const bookingRuns = ways(BookingUpdate, ajvOf(bookingSchema))
const allSeries: DecodeSeries[] = [
  await series('About You', `one body of n items. io-ts: AboutYouOrderItemsShipped.decode; compiled and decodeWith: ${SHIPPED}, as the middleware runs it.`, (n) => [aboutYouBodyWithItems(n)], aboutYouRuns, middlewareRuns),
  // Musement sends one order item per delivery: n items are n bodies, each a distinct order item.
  await series('Musement', 'n bodies of one order item each (what n deliveries cost). io-ts: MusementOrderItem.decode.', bodies(musementBody), musementRuns, musementRuns),
  await series(
    'Stock count (user-defined)',
    'one body of n lines; a user-style codec: t.type (unknown keys kept), t.intersection of t.type and t.partial, t.union, t.array, a brand, RFC 3339 date-times on half the lines.',
    (n) => [stockCountBody(n)],
    stockRuns,
    stockRuns
  ),
  await series('Booking (user-defined)', 'n bodies of one booking each; the booking partner of spec/helpers/booking-partner.ts (t.exact of t.type).', bodies(bookingBody), bookingRuns, bookingRuns)
]

void sink
const message: DecodeMessage = { type: 'decode', pairs, series: allSeries }

if (process.send !== undefined) process.send(message)
else {
  const out = (line = ''): void => void process.stdout.write(`${line}\n`)
  out(`# Decode (tinybench, median time per call${quick ? ', --quick' : ''}; node ${process.version})`)
  out()
  out(table(['body', 'decoder', 'time', 'ajv (same schema)', '/ ajv'], pairs.map((p) => [p.body, p.codecName, ns(p.codec.medianNs), ns(p.ajv.medianNs), ratio(p.codec.medianNs, p.ajv.medianNs)])))
  for (const one of allSeries) {
    out()
    out(`${one.partner}: ${one.note}`)
    out()
    out(sizeTable(one))
  }
  out()
  for (const line of allSeries.flatMap(sizeTargets)) out(`- ${line}`)
}
