import { context, metrics, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus'
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData
} from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { expect } from 'chai'
import type { ErrorRequestHandler, RequestHandler } from 'express'
import request from 'supertest'
import type { DeliveryStore } from '../../lib/core/delivery.js'
import type { Outcome, WebhookOptions } from '../../lib/core/types.js'
import { openTelemetry } from '../../lib/opentelemetry/index.js'
import type { MusementOrderItemEvent } from '../../lib/partners/musement/codec.js'
import { musementOrderItem } from '../../lib/partners/musement/middleware.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { basicAuthHeader, musementOrderItemFixture } from '../../lib/testing/index.js'
import { postDelivery } from '../helpers/deliver.js'
import { express } from '../helpers/express.js'

// Real spans and metric points, read from the SDK's in-memory exporters, for deliveries sent to a real Express app.

const PATH = '/webhooks/musement'
const credentials = { username: 'musement', password: 's3cret' }
const auth = { Authorization: basicAuthHeader('musement', 's3cret') }
const body = musementOrderItemFixture({ order_item_version: '22' })
const KEY = 'musement:11045e18-e3ca-42e1-acb4-0d5be75036fd:22'
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
const DELIVERY_SPAN = 'process musement'

class LedgerError extends Error {}

const deferred = <T>() => {
  let resolve: (value: T) => void = () => undefined
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

/** An SDK of our own: spans and cumulative metrics kept in memory, exported on demand. */
const sdk = () => {
  const spans = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] })
  const exported = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  // Exported only by forceFlush: the interval is longer than any run.
  const reader = new PeriodicExportingMetricReader({ exporter: exported, exportIntervalMillis: 3_600_000 })
  const meterProvider = new MeterProvider({ readers: [reader] })
  const metric = async (name: string): Promise<MetricData | undefined> => {
    await reader.forceFlush()
    const last = exported.getMetrics().at(-1)
    return last?.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name)
  }
  /** The counter's points as [attributes, value]. */
  const counts = async (name: string): Promise<Array<[Attributes, number]>> => {
    const m = await metric(name)
    if (m === undefined) return []
    if (m.dataPointType !== DataPointType.SUM) throw new Error(`${name} is not a sum`)
    return m.dataPoints.map((p) => [p.attributes, p.value])
  }
  /** The histogram's points as [attributes, count, sum, boundaries]. */
  const histogram = async (name: string): Promise<Array<[Attributes, number, number | undefined, number[]]>> => {
    const m = await metric(name)
    if (m === undefined) return []
    if (m.dataPointType !== DataPointType.HISTOGRAM) throw new Error(`${name} is not a histogram`)
    expect(m.descriptor.unit, `${name} unit`).to.equal('s')
    return m.dataPoints.map((p) => [p.attributes, p.value.count, p.value.sum, p.value.buckets.boundaries])
  }
  const delivered = (): ReadableSpan[] => spans.getFinishedSpans().filter((s) => s.name === DELIVERY_SPAN)
  const shutdown = async (): Promise<void> => {
    await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()])
  }
  return { spans, tracerProvider, meterProvider, counts, histogram, delivered, shutdown }
}

const onError: ErrorRequestHandler = (_err, _req, res, _next) => void res.status(500).json({ error: 'internal' })

/** An app with the Musement middleware; `outcome(i)` resolves once the i-th request's record has ended. */
const webhookApp = (options: WebhookOptions<MusementOrderItemEvent>, before: RequestHandler[] = [], after: RequestHandler[] = []) => {
  const arrivals: Array<ReturnType<typeof deferred<Outcome>>> = []
  const nth = (i: number) => (arrivals[i] ??= deferred<Outcome>())
  let seen = 0
  const app = express()
  app.post(
    PATH,
    ...before,
    musementOrderItem({ credentials, onOutcome: (o) => nth(seen++).resolve(o), ...options }),
    ...after
  )
  app.use(onError)
  return { app, outcome: (i: number) => nth(i).promise }
}

const attributes = (outcome: string, status: number, extra: Attributes = {}): Attributes => ({
  'webhook.partner': 'musement',
  'webhook.outcome': outcome,
  'http.response.status_code': status,
  ...extra
})

const START_ATTRIBUTES = {
  'messaging.system': 'musement',
  'messaging.operation.name': 'process',
  'messaging.operation.type': 'process',
  'webhook.partner': 'musement'
}

describe('opentelemetry', () => {
  describe('with an SDK', () => {
    let otel = sdk()

    before(() => {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    })
    after(() => {
      context.disable()
    })
    beforeEach(() => {
      otel = sdk()
    })
    afterEach(async () => {
      await otel.shutdown()
    })

    const telemetry = () => openTelemetry({ tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider })

    it('a processed delivery: one CONSUMER span with the messaging attributes, a count, and both durations in seconds', async () => {
      const { app, outcome } = webhookApp({ telemetry: telemetry(), handler: () => undefined })
      expect((await postDelivery(app, PATH, body, auth)).status).to.equal(200)
      const o = await outcome(0)

      const [span, ...others] = otel.delivered()
      expect(others).to.have.length(0)
      expect(span?.kind).to.equal(SpanKind.CONSUMER)
      expect(span?.instrumentationScope.name).to.equal('express-partner-webhooks')
      expect(span?.attributes).to.deep.equal({ ...START_ATTRIBUTES, ...attributes('processed', 200), 'messaging.message.id': KEY })
      expect(span?.status.code).to.equal(SpanStatusCode.UNSET)
      expect(span?.events).to.deep.equal([])

      expect(await otel.counts('webhook.deliveries')).to.deep.equal([[attributes('processed', 200), 1]])
      expect(await otel.histogram('webhook.request.duration')).to.deep.equal([[attributes('processed', 200), 1, o.durationMs / 1000, SECONDS_BUCKETS]])
      expect(o.handlerMs).to.be.a('number')
      expect(await otel.histogram('webhook.handler.duration')).to.deep.equal([
        [attributes('processed', 200), 1, (o.handlerMs ?? NaN) / 1000, SECONDS_BUCKETS]
      ])
    })

    it('a duplicate: its own span and count, and no handler duration (the handler did not run)', async () => {
      const { app, outcome } = webhookApp({ telemetry: telemetry(), handler: () => undefined })
      await postDelivery(app, PATH, body, auth)
      expect((await postDelivery(app, PATH, body, auth)).status).to.equal(200)
      await outcome(1)

      expect(otel.delivered().map((s) => s.attributes['webhook.outcome'])).to.deep.equal(['processed', 'duplicate'])
      expect(otel.delivered()[1]?.attributes).to.deep.equal({ ...START_ATTRIBUTES, ...attributes('duplicate', 200), 'messaging.message.id': KEY })
      expect(await otel.counts('webhook.deliveries')).to.deep.equal([
        [attributes('processed', 200), 1],
        [attributes('duplicate', 200), 1]
      ])
      expect((await otel.histogram('webhook.handler.duration')).map(([a, count]) => [a, count])).to.deep.equal([[attributes('processed', 200), 1]])
      expect((await otel.histogram('webhook.request.duration')).map(([a, count]) => [a, count])).to.deep.equal([
        [attributes('processed', 200), 1],
        [attributes('duplicate', 200), 1]
      ])
    })

    it('a refused request (401): the problem type as error.type, no key, and the span not an error', async () => {
      const { app, outcome } = webhookApp({ telemetry: telemetry(), handler: () => undefined })
      expect((await postDelivery(app, PATH, body)).status).to.equal(401)
      await outcome(0)

      const refused = attributes('rejected', 401, { 'error.type': 'webhook.auth.missing' })
      expect(otel.delivered()[0]?.attributes).to.deep.equal({ ...START_ATTRIBUTES, ...refused })
      expect(otel.delivered()[0]?.status.code).to.equal(SpanStatusCode.UNSET)
      expect(await otel.counts('webhook.deliveries')).to.deep.equal([[refused, 1]])
      expect(await otel.histogram('webhook.handler.duration')).to.deep.equal([])
    })

    it('a handler that throws: span status ERROR with the exception recorded, error.type the error class', async () => {
      const { app, outcome } = webhookApp({
        telemetry: telemetry(),
        handler: () => {
          throw new LedgerError('ledger offline')
        }
      })
      expect((await postDelivery(app, PATH, body, auth)).status).to.equal(500)
      await outcome(0)

      const failed = attributes('failed', 500, { 'error.type': 'LedgerError' })
      const span = otel.delivered()[0]
      expect(span?.attributes).to.deep.equal({ ...START_ATTRIBUTES, ...failed, 'messaging.message.id': KEY })
      expect(span?.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: 'ledger offline' })
      expect(span?.events.map((e) => [e.name, e.attributes?.['exception.message']])).to.deep.equal([['exception', 'ledger offline']])
      expect(await otel.counts('webhook.deliveries')).to.deep.equal([[failed, 1]])
      expect((await otel.histogram('webhook.handler.duration')).map(([a, count]) => [a, count])).to.deep.equal([[failed, 1]])
    })

    it('a delivery already being handled (409): counted by its status, the span not an error', async () => {
      const entered = deferred<void>()
      const gate = deferred<void>()
      const { app, outcome } = webhookApp({
        telemetry: telemetry(),
        store: memoryStore(),
        handler: async () => {
          entered.resolve()
          await gate.promise
        }
      })
      const first = postDelivery(app, PATH, body, auth)
      await entered.promise
      expect((await postDelivery(app, PATH, body, auth)).status).to.equal(409)
      gate.resolve()
      expect((await first).status).to.equal(200)
      await outcome(1)

      const busy = attributes('busy', 409, { 'error.type': 'webhook.delivery.in_progress' })
      const span = otel.delivered().find((s) => s.attributes['webhook.outcome'] === 'busy')
      expect(span?.attributes).to.deep.equal({ ...START_ATTRIBUTES, ...busy, 'messaging.message.id': KEY })
      expect(span?.status.code).to.equal(SpanStatusCode.UNSET)
      expect(await otel.counts('webhook.deliveries')).to.deep.equal([
        [busy, 1],
        [attributes('processed', 200), 1]
      ])
    })

    it('an unreachable store (503): span status ERROR with the store error recorded, error.type the problem type', async () => {
      const down: DeliveryStore = {
        claim: () => Promise.reject(new Error('connect ECONNREFUSED')),
        complete: () => Promise.reject(new Error('connect ECONNREFUSED')),
        release: () => Promise.reject(new Error('connect ECONNREFUSED'))
      }
      const { app, outcome } = webhookApp({ telemetry: telemetry(), store: down, handler: () => undefined })
      expect((await postDelivery(app, PATH, body, auth)).status).to.equal(503)
      await outcome(0)

      const unavailable = attributes('failed', 503, { 'error.type': 'webhook.store.unavailable' })
      const span = otel.delivered()[0]
      expect(span?.attributes).to.deep.equal({ ...START_ATTRIBUTES, ...unavailable, 'messaging.message.id': KEY })
      expect(span?.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: 'connect ECONNREFUSED' })
      expect(span?.events.map((e) => [e.name, e.attributes?.['exception.message']])).to.deep.equal([['exception', 'connect ECONNREFUSED']])
      expect(await otel.counts('webhook.deliveries')).to.deep.equal([[unavailable, 1]])
    })

    it("nests the handler's spans under the delivery span, and the delivery span under the active (HTTP server) span", async () => {
      const app = otel.tracerProvider.getTracer('app')
      // What HTTP instrumentation does: a SERVER span active while the request passes through the app.
      const server: RequestHandler = (_req, res, next) => {
        const span = app.startSpan('POST', { kind: SpanKind.SERVER })
        res.on('finish', () => span.end())
        context.with(trace.setSpan(context.active(), span), next)
      }
      const built = webhookApp({ telemetry: telemetry(), handler: async () => app.startSpan('write order').end() }, [server])
      expect((await postDelivery(built.app, PATH, body, auth)).status).to.equal(200)
      await built.outcome(0)

      const byName = (name: string) => otel.spans.getFinishedSpans().find((s) => s.name === name)
      const [http, delivery, write] = [byName('POST'), byName(DELIVERY_SPAN), byName('write order')]
      expect(delivery?.parentSpanContext?.spanId).to.be.a('string').and.equal(http?.spanContext().spanId)
      expect(write?.parentSpanContext?.spanId).to.be.a('string').and.equal(delivery?.spanContext().spanId)
      expect(new Set([http, delivery, write].map((s) => s?.spanContext().traceId)).size).to.equal(1)
    })

    it("nests a next()-style route's spans under the delivery span, and times the route as the handler", async () => {
      const app = otel.tracerProvider.getTracer('app')
      const route: RequestHandler = (_req, res) => {
        app.startSpan('route work').end()
        res.status(200).json({ ok: true })
      }
      const built = webhookApp({ telemetry: telemetry() }, [], [route])
      expect((await postDelivery(built.app, PATH, body, auth)).status).to.equal(200)
      const o = await built.outcome(0)

      const delivery = otel.delivered()[0]
      const work = otel.spans.getFinishedSpans().find((s) => s.name === 'route work')
      expect(work?.parentSpanContext?.spanId).to.be.a('string').and.equal(delivery?.spanContext().spanId)
      expect(delivery?.attributes['webhook.outcome']).to.equal('processed')
      expect(await otel.histogram('webhook.handler.duration')).to.deep.equal([
        [attributes('processed', 200), 1, (o.handlerMs ?? NaN) / 1000, SECONDS_BUCKETS]
      ])
    })
  })

  describe('with the global providers', () => {
    afterEach(() => {
      trace.disable()
      metrics.disable()
      context.disable()
    })

    it('records nothing and throws nothing without an SDK', async () => {
      trace.disable()
      metrics.disable()
      context.disable()
      const handled: string[] = []
      const { app, outcome } = webhookApp({
        telemetry: openTelemetry(),
        handler: (event) => {
          handled.push(event.order_item_uuid)
          if (event.order_item_status === 'KO') throw new LedgerError('ledger offline')
        }
      })
      const answers = [
        await postDelivery(app, PATH, body, auth),
        await postDelivery(app, PATH, musementOrderItemFixture({ order_item_version: '23', order_item_status: 'KO' }), auth),
        await postDelivery(app, PATH, body)
      ]
      expect(answers.map((a) => a.status)).to.deep.equal([200, 500, 401])
      expect(handled).to.have.length(2)
      // onOutcome is called after the record ends: had end() thrown, these would not arrive.
      expect(await Promise.all([outcome(0), outcome(1), outcome(2)]).then((os) => os.map((o) => o.outcome))).to.deep.equal([
        'processed',
        'failed',
        'rejected'
      ])
    })

    it('uses an SDK registered later, even after the first requests, for spans and for metrics', async () => {
      const otel = sdk()
      const { app, outcome } = webhookApp({ telemetry: openTelemetry(), handler: () => undefined })
      await postDelivery(app, PATH, body)
      await outcome(0)
      trace.setGlobalTracerProvider(otel.tracerProvider)
      metrics.setGlobalMeterProvider(otel.meterProvider)
      await postDelivery(app, PATH, body, auth)
      await outcome(1)
      expect(otel.delivered().map((s) => s.attributes['webhook.outcome'])).to.deep.equal(['processed'])
      expect(await otel.counts('webhook.deliveries')).to.deep.equal([[attributes('processed', 200), 1]])
      await otel.shutdown()
    })
  })

  describe('options', () => {
    it('refuses an unknown option, naming the one meant', () => {
      // @ts-expect-error: a misspelt option name
      expect(() => openTelemetry({ tracerProvder: new BasicTracerProvider() })).to.throw(
        TypeError,
        'openTelemetry: unknown option `tracerProvder`. Did you mean `tracerProvider`?'
      )
    })

    it('refuses a provider that is not one', () => {
      // @ts-expect-error: not a meter provider
      expect(() => openTelemetry({ meterProvider: {} })).to.throw(TypeError, 'openTelemetry: `meterProvider` must have a getMeter() method')
      // @ts-expect-error: the provider's tracer rather than the provider
      expect(() => openTelemetry({ tracerProvider: new BasicTracerProvider().getTracer('x') })).to.throw(TypeError, '`tracerProvider` must have a getTracer()')
    })

    it('is refused as the telemetry option when passed uncalled', () => {
      // @ts-expect-error: the factory rather than what it returns
      expect(() => musementOrderItem({ credentials, telemetry: openTelemetry })).to.throw(TypeError, '`telemetry` must have a start(partner) method')
    })
  })

  describe('the README Prometheus recipe', () => {
    it('exposes webhook_deliveries_total and the *_seconds histograms through @opentelemetry/exporter-prometheus', async () => {
      const exporter = new PrometheusExporter({ preventServerStart: true })
      // As in the README: the JS exporter adds `_total` to counters but no unit suffix, so the views name the seconds.
      const meterProvider = new MeterProvider({
        readers: [exporter],
        views: [
          { instrumentName: 'webhook.request.duration', name: 'webhook.request.duration.seconds' },
          { instrumentName: 'webhook.handler.duration', name: 'webhook.handler.duration.seconds' }
        ]
      })
      const { app, outcome } = webhookApp({ telemetry: openTelemetry({ meterProvider }), handler: () => undefined })
      app.get('/metrics', (req, res) => exporter.getMetricsRequestHandler(req, res))
      await postDelivery(app, PATH, body, auth)
      await postDelivery(app, PATH, body)
      await outcome(1)

      const { text } = await request(app).get('/metrics').expect(200)
      const lines = text.split('\n')
      const series = (name: string, ...labels: string[]) =>
        lines.filter((l) => l.startsWith(`${name}{`) && labels.every((label) => l.includes(label)))
      expect(lines).to.include.members([
        '# TYPE webhook_deliveries_total counter',
        '# TYPE webhook_request_duration_seconds histogram',
        '# TYPE webhook_handler_duration_seconds histogram'
      ])
      const processed = ['webhook_partner="musement"', 'webhook_outcome="processed"', 'http_response_status_code="200"']
      expect(series('webhook_deliveries_total', ...processed)).to.have.length(1).and.satisfy((l: string[]) => l[0]?.endsWith('} 1'))
      expect(series('webhook_deliveries_total', 'http_response_status_code="401"', 'error_type="webhook.auth.missing"')).to.have.length(1)
      expect(series('webhook_handler_duration_seconds_bucket', ...processed, 'le="0.005"')).to.have.length(1)
      expect(series('webhook_request_duration_seconds_count', ...processed)).to.have.length(1)
      await meterProvider.shutdown()
    })
  })
})
