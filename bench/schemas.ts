import * as t from 'io-ts'
import Ajv2020 from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import type { ValidateFunction } from 'ajv'
import { readFixture, type Partner } from './bodies.js'

// The vendors' schemas compiled by ajv (JSON Schema 2020-12, the dialect of OpenAPI 3.1 and of the Musement schema),
// with ajv-formats for `uuid` and `date-time`: the hand-rolled reference the codecs are compared with.

const Components = t.type({ components: t.type({ schemas: t.UnknownRecord }) })

// The OpenAPI document's schemas refer to each other as `#/components/schemas/X`; as `$defs` of one JSON Schema the
// same references read `#/$defs/X`. Nothing else is changed.
const aboutYouSchema = (): { $defs: Record<string, unknown>; $ref: string } => {
  const doc = readFixture('aboutyou-order-items-shipped.openapi.json')
  if (!Components.is(doc)) throw new Error('the About You OpenAPI document has no components.schemas')
  const defs: unknown = JSON.parse(JSON.stringify(doc.components.schemas).replaceAll('"#/components/schemas/', '"#/$defs/'))
  if (!t.UnknownRecord.is(defs)) throw new Error('unreachable: an object stays an object')
  return { $defs: defs, $ref: '#/$defs/ShipmentItemsShippedWebhookSchema' }
}

const musementSchema = (): Record<string, unknown> => {
  const schema = readFixture('musement-order-item.schema.json')
  if (!t.UnknownRecord.is(schema)) throw new Error('the Musement schema is not a JSON object')
  return schema
}

/** An ajv validator of `schema`; `allErrors` off, as a fast hand-rolled check would have it. */
export const ajvOf = (schema: object): ValidateFunction => {
  const ajv = new Ajv2020.default({ allErrors: false })
  addFormats.default(ajv)
  return ajv.compile(schema)
}

/** An ajv validator of the partner's body schema. */
export const ajvValidator = (partner: Partner): ValidateFunction => ajvOf(partner === 'musement' ? musementSchema() : aboutYouSchema())
