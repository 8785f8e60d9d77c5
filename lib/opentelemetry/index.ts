import {
  context,
  metrics,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Counter,
  type Histogram,
  type MeterProvider,
  type Span,
  type TracerProvider
} from '@opentelemetry/api'
import { describeValue } from '../core/decode.js'
import { assertKnownKeys, assertOptionsObject, optionError } from '../core/options.js'
import type { DeliveryRecord, Telemetry } from '../core/telemetry.js'
import type { Outcome } from '../core/types.js'

// OpenTelemetry for the engine's telemetry seam (`express-partner-webhooks/opentelemetry`), a subpath of its own so
// that apps without OpenTelemetry never load `@opentelemetry/api`. Without an SDK every call below is a no-op.

/** Where spans and metrics go. Both default to the global providers, which do nothing until an SDK registers one. */
export interface OpenTelemetryOptions {
  /** Default: the global tracer provider (`trace.getTracerProvider()`), as registered by e.g. `NodeSDK`. */
  readonly tracerProvider?: TracerProvider
  /** Default: the global meter provider (`metrics.getMeterProvider()`), read at each request: one registered later counts. */
  readonly meterProvider?: MeterProvider
}

const FACTORY = 'openTelemetry'
const SCOPE = 'express-partner-webhooks'

// The buckets of the HTTP server duration semantic convention, in seconds; the SDK's default buckets are made for
// milliseconds and would put every delivery in the first one.
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]

interface Instruments {
  readonly deliveries: Counter
  readonly requestDuration: Histogram
  readonly handlerDuration: Histogram
}

const instrumentsOf = (provider: MeterProvider): Instruments => {
  const meter = provider.getMeter(SCOPE)
  const seconds = (name: string, description: string): Histogram =>
    meter.createHistogram(name, { description, unit: 's', advice: { explicitBucketBoundaries: SECONDS_BUCKETS } })
  return {
    deliveries: meter.createCounter('webhook.deliveries', {
      description: 'Requests that reached a webhook middleware, by partner, outcome and status (409 busy, 503 store unreachable)',
      unit: '{delivery}'
    }),
    requestDuration: seconds('webhook.request.duration', 'From a request reaching the webhook middleware to its outcome'),
    handlerDuration: seconds('webhook.handler.duration', 'How long the handler (or the next() route) ran')
  }
}

// A problem type first: the package's stable, documented refusals. Then the error's class, as the error.type
// convention asks; for an answer the app chose itself, its status code, as HTTP's convention does.
const errorType = (o: Outcome): string | undefined => {
  if (o.type !== undefined) return o.type
  if (o.outcome !== 'failed') return undefined
  if (o.error instanceof Error) return o.error.constructor.name || o.error.name
  return o.error === undefined ? String(o.status) : '_OTHER'
}

/** What the span and every metric point share: all of low cardinality (the delivery key goes on the span only). */
const outcomeAttributes = (o: Outcome): Attributes => {
  const type = errorType(o)
  return {
    'webhook.partner': o.partner,
    'webhook.outcome': o.outcome,
    'http.response.status_code': o.status,
    ...(type === undefined ? {} : { 'error.type': type })
  }
}

const endSpan = (span: Span, o: Outcome, attributes: Attributes): void => {
  span.setAttributes(o.key === undefined ? attributes : { ...attributes, 'messaging.message.id': o.key })
  if (o.error !== undefined) span.recordException(o.error instanceof Error ? o.error : describeValue(o.error))
  // Only a failure is an error: a refusal (4xx, 409) is the sender's to act on, as HTTP server spans treat a 4xx.
  if (o.outcome === 'failed') {
    span.setStatus({ code: SpanStatusCode.ERROR, ...(o.error instanceof Error ? { message: o.error.message } : {}) })
  }
  span.end()
}

const isTracerProvider = (u: unknown): u is TracerProvider =>
  typeof u === 'object' && u !== null && 'getTracer' in u && typeof u.getTracer === 'function'
const isMeterProvider = (u: unknown): u is MeterProvider =>
  typeof u === 'object' && u !== null && 'getMeter' in u && typeof u.getMeter === 'function'

interface Providers {
  readonly tracerProvider: TracerProvider | undefined
  readonly meterProvider: MeterProvider | undefined
}

const resolveProviders = (options: unknown): Providers => {
  if (options === undefined) return { tracerProvider: undefined, meterProvider: undefined }
  assertOptionsObject(FACTORY, options)
  assertKnownKeys(FACTORY, options, ['tracerProvider', 'meterProvider'])
  const tracerProvider = 'tracerProvider' in options ? options.tracerProvider : undefined
  const meterProvider = 'meterProvider' in options ? options.meterProvider : undefined
  if (tracerProvider !== undefined && !isTracerProvider(tracerProvider)) {
    throw optionError(FACTORY, '`tracerProvider` must have a getTracer() method, e.g. a NodeTracerProvider')
  }
  if (meterProvider !== undefined && !isMeterProvider(meterProvider)) {
    throw optionError(FACTORY, '`meterProvider` must have a getMeter() method, e.g. a MeterProvider')
  }
  return { tracerProvider, meterProvider }
}

/**
 * Traces and metrics for every request a webhook middleware sees, through `@opentelemetry/api`: a `CONSUMER` span
 * `process <partner>` per request (messaging semantic conventions), the `webhook.deliveries` counter and the
 * `webhook.request.duration` and `webhook.handler.duration` histograms (seconds). Pass it as the `telemetry` option.
 * Without an OpenTelemetry SDK it records nothing and costs next to nothing.
 *
 * @example
 * import { openTelemetry } from 'express-partner-webhooks/opentelemetry'
 *
 * const telemetry = openTelemetry() // the global providers, as NodeSDK registers them
 * app.post('/webhooks/musement', musementOrderItem({ credentials, handler, telemetry }))
 */
export const openTelemetry = (options?: OpenTelemetryOptions): Telemetry => {
  const { tracerProvider, meterProvider } = resolveProviders(options)
  // The global tracer provider is a proxy that forwards to an SDK registered later; the global meter provider is
  // not, so it is read at each request, and instruments are made again only when it changed.
  const tracer = (tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE)
  let made: { readonly provider: MeterProvider; readonly instruments: Instruments } | undefined
  const instruments = (): Instruments => {
    const provider = meterProvider ?? metrics.getMeterProvider()
    if (made?.provider !== provider) made = { provider, instruments: instrumentsOf(provider) }
    return made.instruments
  }

  const start = (partner: string): DeliveryRecord => {
    // The active context is the HTTP server span's when the app has HTTP instrumentation: the delivery nests under it.
    const parent = context.active()
    const span = tracer.startSpan(
      `process ${partner}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': partner,
          'messaging.operation.name': 'process',
          'messaging.operation.type': 'process',
          'webhook.partner': partner
        }
      },
      parent
    )
    const active = trace.setSpan(parent, span)
    return {
      within: (run) => context.with(active, run),
      end: (o) => {
        const attributes = outcomeAttributes(o)
        endSpan(span, o, attributes)
        const { deliveries, requestDuration, handlerDuration } = instruments()
        deliveries.add(1, attributes)
        requestDuration.record(o.durationMs / 1000, attributes)
        if (o.handlerMs !== undefined) handlerDuration.record(o.handlerMs / 1000, attributes)
      }
    }
  }
  return { start }
}
