import { expect } from 'chai'
import * as E from 'fp-ts/lib/Either.js'
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib'
import type { ProblemType } from '../../lib/core/problem.js'
import { LINGER_MAX_BYTES } from '../../lib/core/read-body.js'
import { basicAuthHeader } from '../../lib/testing/index.js'
import { problemOf } from '../helpers/deliver.js'
import { listen, sendRaw, streamChunked, type HeaderLines, type RawAnswer } from '../helpers/raw-http.js'
import {
  ABOUT_YOU_WEBHOOKS,
  API_KEY,
  BEARER_TOKEN,
  MUSEMENT,
  MUSEMENT_AUTH,
  PASSWORD,
  PATH,
  pick,
  REMOVE,
  SECRETS,
  setAt,
  TARGETS,
  targetApp,
  UNICODE_CREDENTIALS,
  type Path,
  type Recorder,
  type Target,
  type TargetOptions
} from './targets.js'

// A table of hostile and broken requests, each sent byte for byte over a real socket to a fresh app, with the status
// and problem type it must get. Whatever the case, these hold: no exception escapes (nothing reaches Express's error
// handling, no unhandled rejection), the handler runs only for a body the codec accepts, a refusal is a small
// problem+json without stack traces or credentials, hooks never see a credential, Object.prototype is untouched, and
// the server still answers a valid delivery afterwards.

interface Req {
  readonly method?: string
  /** Credential header lines; the target's valid one by default. */
  readonly auth?: HeaderLines
  /** The Content-Type value, `null` for none; `application/json` by default. */
  readonly contentType?: string | null
  readonly headers?: HeaderLines
  /** The exact bytes (a string is sent as UTF-8); the target's valid body by default. */
  readonly body?: Buffer | string
  readonly framing?: 'length' | 'chunked' | 'none'
}

type Expectation =
  /** Accepted: the handler got exactly the codec's reading of the body (or what `event` checks). */
  | { readonly status: 200; readonly event?: (event: unknown) => void }
  | { readonly status: 400 | 401 | 403 | 405 | 413 | 415; readonly type: ProblemType; readonly check?: (answer: RawAnswer) => void }
  /** Refused by Node's HTTP parser before any middleware: a bare 400, nothing reaches the app. */
  | { readonly node: 400 }

interface Case {
  readonly name: string
  readonly target: Target
  readonly request: Req
  readonly expect: Expectation
  readonly options?: TargetOptions
  /** The status of a valid delivery sent afterwards, 200 unless the case's allowlist refuses 127.0.0.1. */
  readonly followUp?: number
}

const PLACEHOLDER = 'RAW-PLACEHOLDER-7f3a'
const valid = (target: Target): string => JSON.stringify(target.validBody())
const withValue = (target: Target, path: Path, value: unknown): string => JSON.stringify(setAt(target.validBody(), path, value))
/** The valid body with raw JSON text at `path`: numbers JSON.stringify would never write (`1e400`, `-0`, 2^53 + 1). */
const withRaw = (target: Target, path: Path, raw: string): string => withValue(target, path, PLACEHOLDER).replace(`"${PLACEHOLDER}"`, raw)
/** The valid body with raw bytes (invalid UTF-8, say) inside the JSON string at `path`. */
const withBytes = (target: Target, path: Path, raw: number[]): Buffer => {
  const [before = '', after = ''] = withValue(target, path, PLACEHOLDER).split(PLACEHOLDER)
  return bytes(before, raw, after)
}
/** The valid body with `key` of the object at `parent` moved into a `__proto__` member of that object. */
const hiddenInProto = (target: Target, parent: Path, key: string): string => {
  const moved = JSON.stringify(Object.fromEntries([[key, pick(target.validBody(), [...parent, key])]]))
  const without = setAt(setAt(target.validBody(), [...parent, key], REMOVE), [...parent, '__proto__'], PLACEHOLDER)
  return JSON.stringify(without).replace(`"${PLACEHOLDER}"`, moved)
}
/** Raw JSON text inserted as the first (`at: 'start'`) or last member of the top-level object `body`. */
const withMember = (body: string, member: string, at: 'start' | 'end'): string =>
  at === 'start' ? `{${member},${body.slice(1)}` : `${body.slice(0, -1)},${member}}`

const BOM = Buffer.from([0xef, 0xbb, 0xbf])
const DEPTH = 100_000
const deepArray = (): string => '['.repeat(DEPTH) + ']'.repeat(DEPTH)
const deepObject = (leaf = '1'): string => '{"a":'.repeat(DEPTH) + leaf + '}'.repeat(DEPTH)
const bytes = (...parts: Array<string | number[] | Buffer>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.isBuffer(p) ? p : Buffer.from(p))))

const depthOf = (value: unknown): number => {
  let depth = 0
  for (let v = value; typeof v === 'object' && v !== null; depth++) v = Object.values(v)[0]
  return depth
}

/** A 400 `webhook.payload.invalid` whose first problem is at `path`. */
const invalidAt = (path: string) =>
  ({
    status: 400,
    type: 'webhook.payload.invalid',
    check: (a: RawAnswer) => expect(problemOf({ status: a.status, headers: {}, text: a.text }).errors?.[0]?.path).to.equal(path)
  }) as const
const protoAt = invalidAt

/** Cases every target gets: framing, encoding, media type, size, JSON syntax, JSON shapes, prototype keys. */
const common = (target: Target): Case[] => {
  const c = (name: string, request: Req, expect: Expectation, options?: TargetOptions): Case => ({ name, target, request, expect, ...(options === undefined ? {} : { options }) })
  const malformed = { status: 400, type: 'webhook.body.malformed' } as const
  const invalid = { status: 400, type: 'webhook.payload.invalid' } as const
  const tooLarge = { status: 413, type: 'webhook.body.too_large' } as const
  const media = { status: 415, type: 'webhook.media.unsupported' } as const
  const atRoot = invalidAt('')
  const body = valid(target)
  return [
    c('the valid body (control)', {}, { status: 200 }),
    // Empty and truncated bodies
    c('an empty body (Content-Length: 0)', { body: '' }, malformed),
    c('an empty chunked body', { body: '', framing: 'chunked' }, malformed),
    c('whitespace only', { body: ' \r\n\t ' }, malformed),
    c('JSON cut in half', { body: body.slice(0, body.length >> 1) }, malformed),
    c('JSON without its closing brace', { body: body.slice(0, -1) }, malformed),
    c('Content-Length shorter than the body (the rest is a garbled next request)', { body, headers: [['Content-Length', String(body.length - 5)]] }, { node: 400 }),
    c('a trailing comma', { body: `${body.slice(0, -1)},}` }, malformed),
    c('single-quoted strings', { body: body.replace(/"/g, "'") }, malformed),
    c('NaN, which JSON does not have', { body: withRaw(target, target.numberField, 'NaN') }, malformed),
    c('two JSON documents in a row', { body: body + body }, malformed),
    // JSON that is not an object
    c('a JSON array (of the valid body)', { body: `[${body}]` }, atRoot),
    c('a JSON string', { body: JSON.stringify(body) }, atRoot),
    c('a JSON number', { body: '42' }, atRoot),
    c('JSON null', { body: 'null' }, atRoot),
    c('JSON true', { body: 'true' }, atRoot),
    c('an empty object', { body: '{}' }, invalid),
    // Byte order marks and UTF-8
    c('a UTF-8 byte order mark before the JSON (stripped, RFC 8259 §8.1 lets a parser ignore it)', { body: bytes(BOM, body) }, { status: 200 }),
    c('two byte order marks', { body: bytes(BOM, BOM, body) }, malformed),
    c('a byte order mark after express.text() read the body', { body: bytes(BOM, body) }, { status: 200 }, { before: 'text' }),
    c('a byte order mark after express.raw() read the body', { body: bytes(BOM, body) }, { status: 200 }, { before: 'raw' }),
    c('invalid UTF-8 after express.raw() read the body', { body: bytes(body.slice(0, 10), [0xff], body.slice(10)) }, malformed, { before: 'raw' }),
    c('a UTF-16LE byte order mark and UTF-16 text', { body: bytes([0xff, 0xfe], Buffer.from(body, 'utf16le')) }, malformed),
    c('invalid UTF-8 bytes (C3 28) inside a string', { body: withBytes(target, target.stringField, [0xc3, 0x28]) }, malformed),
    c('a latin1 "ü" (FC) inside a string', { body: withBytes(target, target.stringField, [0xfc]) }, malformed),
    c('an overlong encoding of "/" (C0 AF)', { body: bytes('{"a":"', [0xc0, 0xaf], '"}') }, malformed),
    c('a UTF-8-encoded surrogate (ED A0 80)', { body: bytes('{"a":"', [0xed, 0xa0, 0x80], '"}') }, malformed),
    c('a multi-byte character cut at the end', { body: bytes(body, [0xe2, 0x82]) }, malformed),
    c('a lone 0xFF byte', { body: bytes([0xff]) }, malformed),
    // Duplicate keys: JSON.parse keeps the last one, and the codec judges exactly the value the handler will see
    c('a duplicate key whose last value is invalid', { body: withMember(valid(target), `${JSON.stringify(target.numberField[0])}:"not a number"`, 'end') }, invalid),
    c('a duplicate key whose first value is invalid (the last, valid one wins)', { body: withMember(valid(target), `${JSON.stringify(target.numberField[0])}:"not a number"`, 'start') }, { status: 200 }),
    // Prototype keys. JSON.parse makes `__proto__` an own key, but io-ts copies objects with Object.assign, which
    // would make it the prototype of the decoded event: refused wherever it appears. `constructor` and `prototype`
    // are plain keys, dropped as unknown.
    c('__proto__ at the top level', { body: withMember(valid(target), '"__proto__":{"polluted":"yes","isAdmin":true}', 'start') }, protoAt('/__proto__')),
    c('every field offered only through __proto__', { body: `{"__proto__":${body}}` }, protoAt('/__proto__')),
    c('__proto__ 100 000 levels deep (the location is cut short)', { body: withMember(valid(target), `"extra":${deepObject('{"__proto__":{}}')}`, 'end') }, protoAt(`/extra${'/a'.repeat(97)}`), { limit: '5mb' }),
    c('__proto__ under a 90 kB key', { body: withMember(valid(target), `"${'k'.repeat(90_000)}":{"__proto__":{}}`, 'end') }, protoAt('')),
    c('__proto__ after express.json() parsed the body', { body: withMember(valid(target), '"__proto__":{"isAdmin":true}', 'start') }, protoAt('/__proto__'), { before: 'json' }),
    c('constructor.prototype at the top level', { body: withMember(valid(target), '"constructor":{"prototype":{"polluted":"yes"}}', 'end') }, { status: 200, event: (e) => expect(Object.getPrototypeOf(e)).to.equal(Object.prototype) }),
    c('prototype at the top level', { body: withMember(valid(target), '"prototype":{"polluted":"yes"}', 'end') }, { status: 200 }),
    // Deep nesting: JSON.parse in V8 is not recursive, the codecs never descend into unknown keys
    c('100 000 nested arrays (200 kB) under the default 100 kB limit', { body: deepArray() }, tooLarge),
    c('100 000 nested arrays with a 5 MB limit: parsed, then refused', { body: deepArray() }, atRoot, { limit: '5mb' }),
    c('100 000 nested objects with a 5 MB limit', { body: deepObject() }, invalid, { limit: '5mb' }),
    c('100 000 nested objects in an unknown field of a valid body (dropped)', { body: withMember(valid(target), `"extra":${deepObject()}`, 'end') }, { status: 200 }, { limit: '5mb' }),
    c('100 000 nested arrays after express.json() parsed them', { body: deepArray() }, atRoot, { limit: '5mb', before: 'json' }),
    // Size
    c('a declared Content-Length one byte over the limit (refused before reading)', { body: body.padEnd(100 * 1024 + 1, ' ') }, tooLarge),
    c('a chunked body one byte over the limit', { body: body.padEnd(100 * 1024 + 1, ' '), framing: 'chunked' }, tooLarge),
    c('a body of exactly the limit', { body: body.padEnd(1024, ' ') }, { status: 200 }, { limit: '1kb' }),
    c('a body one byte over a 1 kB limit', { body: body.padEnd(1025, ' ') }, tooLarge, { limit: '1kb' }),
    c('a 90 kB string in a field with no length rule', { body: withValue(target, target.stringField, target.stringFieldChar.repeat(90_000)) }, { status: 200 }),
    // Compressed bodies are refused: inflating them could take a small request far past `limit`
    c('Content-Encoding: gzip', { body: gzipSync(body), headers: [['Content-Encoding', 'gzip']] }, media),
    c('Content-Encoding: deflate', { body: deflateSync(body), headers: [['Content-Encoding', 'deflate']] }, media),
    c('Content-Encoding: br', { body: brotliCompressSync(body), headers: [['Content-Encoding', 'br']] }, media),
    c('Content-Encoding: GZIP, identity', { body: gzipSync(body), headers: [['Content-Encoding', 'GZIP, identity']] }, media),
    c('Content-Encoding: identity (no encoding)', { headers: [['Content-Encoding', 'identity']] }, { status: 200 }),
    // Content-Type variants
    c('no Content-Type', { contentType: null }, media),
    c('an empty Content-Type', { contentType: '' }, media),
    c('Content-Type: text/plain', { contentType: 'text/plain' }, media),
    c('Content-Type: application/x-www-form-urlencoded', { contentType: 'application/x-www-form-urlencoded', body: 'order_id=1' }, media),
    c('Content-Type: application/problem+json', { contentType: 'application/problem+json' }, media),
    c('Content-Type: application/json; charset=latin1', { contentType: 'application/json; charset=latin1' }, media),
    c('Content-Type: application/json; charset=utf-16', { contentType: 'application/json; charset=utf-16' }, media),
    c('a utf-8 charset followed by a latin1 one', { contentType: 'application/json; charset=utf-8; charset=latin1' }, media),
    c('Content-Type: APPLICATION/JSON; CHARSET=UTF-8', { contentType: 'APPLICATION/JSON; CHARSET=UTF-8' }, { status: 200 }),
    c('Content-Type: application/json;charset="utf8"', { contentType: 'application/json;charset="utf8"' }, { status: 200 }),
    // Methods other than POST (mounted with app.use)
    ...['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'].map((method) =>
      c(`${method} instead of POST`, { method }, { status: 405, type: 'webhook.method.not_allowed', check: (a) => expect(a.headers['allow']).to.equal('POST') })
    ),
    c('request headers named __proto__ and constructor', { headers: [['__proto__', 'polluted'], ['constructor', 'x']] }, { status: 200 }),
    // HTTP framing Node refuses before any middleware runs
    c('Content-Length and Transfer-Encoding together', { headers: [['Content-Length', String(body.length)], ['Transfer-Encoding', 'chunked']], body, framing: 'none' }, { node: 400 }),
    c('two different Content-Length values', { headers: [['Content-Length', String(body.length)], ['Content-Length', '5']], body, framing: 'none' }, { node: 400 })
  ]
}

const MUSEMENT_TOKEN = MUSEMENT_AUTH.slice('Basic '.length)
const musementAuth = (value: string): HeaderLines => [['Authorization', value]]
const latin1Basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`, 'latin1').toString('base64')}`

const musement = (target: Target): Case[] => {
  const c = (name: string, request: Req, expect: Expectation): Case => ({ name, target, request, expect })
  const missing = { status: 401, type: 'webhook.auth.missing', check: (a: RawAnswer) => expect(a.headers['www-authenticate']).to.match(/^Basic realm="musement"/) } as const
  const invalid = { status: 401, type: 'webhook.auth.invalid', check: (a: RawAnswer) => expect(a.headers['www-authenticate']).to.match(/^Basic /) } as const
  const other = basicAuthHeader('musement', 'wrong')
  return [
    c('no Authorization header', { auth: [] }, missing),
    c('an empty Authorization header', { auth: musementAuth('') }, missing),
    c('an Authorization header of spaces', { auth: musementAuth('    ') }, missing),
    c('a wrong password', { auth: musementAuth(other) }, invalid),
    c('the Bearer scheme with the password', { auth: musementAuth(`Bearer ${PASSWORD}`) }, invalid),
    c('the Digest scheme', { auth: musementAuth('Digest username="musement", realm="musement"') }, invalid),
    c('the lowercase scheme name basic (RFC 9110 §11.1: case-insensitive)', { auth: musementAuth(`basic ${MUSEMENT_TOKEN}`) }, { status: 200 }),
    c('the uppercase scheme name BASIC', { auth: musementAuth(`BASIC ${MUSEMENT_TOKEN}`) }, { status: 200 }),
    c('a token that is not base64', { auth: musementAuth('Basic ***not-base64***') }, invalid),
    c('base64 without its padding', { auth: musementAuth(`Basic ${MUSEMENT_TOKEN.replace(/=+$/, '')}`) }, invalid),
    c('base64url instead of base64', { auth: musementAuth(`Basic ${Buffer.from(`musement:${PASSWORD}`).toString('base64url')}`) }, invalid),
    c('the credentials unencoded', { auth: musementAuth(`Basic musement:${PASSWORD}`) }, invalid),
    c('a password containing ":" (split at the first colon, RFC 7617 §2)', { auth: musementAuth(MUSEMENT_AUTH) }, { status: 200 }),
    c('the right password up to its colon, then a wrong part', { auth: musementAuth(basicAuthHeader('musement', 'hostile-Pa55:wrong')) }, invalid),
    c('a UTF-8 username and password', { auth: musementAuth(basicAuthHeader(UNICODE_CREDENTIALS.username, UNICODE_CREDENTIALS.password)) }, { status: 200 }),
    c('the same non-ASCII pair encoded as latin1', { auth: musementAuth(latin1Basic('müller', 'pässwörd')) }, invalid),
    c('raw UTF-8 bytes in the header instead of base64', { auth: [['Authorization', bytes('Basic müller:pässwörd✓')]] }, invalid),
    c('a token without a colon', { auth: musementAuth(`Basic ${Buffer.from('musement').toString('base64')}`) }, invalid),
    c('an empty username and password (":")', { auth: musementAuth(`Basic ${Buffer.from(':').toString('base64')}`) }, invalid),
    c('NUL bytes around the password', { auth: musementAuth(basicAuthHeader('musement', `\u0000${PASSWORD}\u0000`)) }, invalid),
    c('an 8 kB token', { auth: musementAuth(`Basic ${'QUFB'.repeat(2048)}`) }, invalid),
    c('a second token after the first', { auth: musementAuth(`${MUSEMENT_AUTH} ${MUSEMENT_TOKEN}`) }, invalid),
    c('the header sent twice, valid first (Node would keep only the first)', { auth: [...musementAuth(MUSEMENT_AUTH), ...musementAuth(other)] }, invalid),
    c('the header sent twice, valid second', { auth: [...musementAuth(other), ...musementAuth(MUSEMENT_AUTH)] }, invalid),
    c('the valid header sent twice', { auth: [...musementAuth(MUSEMENT_AUTH), ...musementAuth(MUSEMENT_AUTH)] }, invalid),
    c('the credentials in Proxy-Authorization only', { auth: [['Proxy-Authorization', MUSEMENT_AUTH]] }, missing),
    c('the password as X-API-Key', { auth: [['X-API-Key', PASSWORD]] }, missing),
    // The order of checks: authentication is decided from the headers before media type, size or body
    c('bad credentials, a wrong Content-Type and a body declared far over the limit', { auth: musementAuth(other), contentType: 'text/plain', headers: [['Content-Length', String(50 * 1024 * 1024)]], body: '{', framing: 'none' }, invalid),
    c('bad credentials and a gzip body', { auth: musementAuth(other), headers: [['Content-Encoding', 'gzip']], body: gzipSync(valid(target)) }, invalid),
    c('GET with bad credentials: the method is checked first', { method: 'GET', auth: musementAuth(other) }, { status: 405, type: 'webhook.method.not_allowed' }),
    // Values past the codec's rules
    c('a version of 2^53 (one past the largest safe integer)', { body: withValue(target, ['order_item_version'], '9007199254740992') }, { status: 400, type: 'webhook.payload.invalid' }),
    c('a version of 2^53 - 1 (the largest safe integer)', { body: withValue(target, ['order_item_version'], '9007199254740991') }, { status: 200 }),
    c('a version "1e400"', { body: withValue(target, ['order_item_version'], '1e400') }, { status: 400, type: 'webhook.payload.invalid' }),
    c('a version "-0"', { body: withValue(target, ['order_item_version'], '-0') }, { status: 400, type: 'webhook.payload.invalid' }),
    c('a version as a JSON number past 2^53', { body: withRaw(target, ['order_item_version'], '90071992547409930000') }, { status: 400, type: 'webhook.payload.invalid' }),
    c('a 90 kB date-time (refused quickly, value shortened in the answer)', { body: withValue(target, ['order_created'], `2018-12-10T13:12:40.${'1'.repeat(90_000)}`) }, { status: 400, type: 'webhook.payload.invalid' }),
    c('__proto__ carrying the status the body lacks (io-ts alone would accept it)', { body: hiddenInProto(target, [], 'order_item_status') }, protoAt('/__proto__'))
  ]
}

const apiKey = (value: string | Buffer): HeaderLines => [['X-API-Key', value]]

const aboutYou = (target: Target): Case[] => {
  const c = (name: string, request: Req, expect: Expectation, options?: TargetOptions): Case => ({ name, target, request, expect, ...(options === undefined ? {} : { options }) })
  const missing = { status: 401, type: 'webhook.auth.missing', check: (a: RawAnswer) => expect(a.headers['www-authenticate']).to.equal('APIKey header="X-API-Key"') } as const
  const invalid = { status: 401, type: 'webhook.auth.invalid' } as const
  const payload = { status: 400, type: 'webhook.payload.invalid' } as const
  const item = (field: string): Path => ['message', 'items', 0, field]
  const priceIs = (expected: number) => (e: unknown) => expect(Object.is(pick(e, item('price_with_tax')), expected), 'the exact number, sign of zero included').to.equal(true)
  return [
    c('no X-API-Key header', { auth: [] }, missing),
    c('an empty X-API-Key', { auth: apiKey('') }, missing),
    c('a wrong key', { auth: apiKey('ay-hostile-KEY-9999999999') }, invalid),
    c('the key in another case', { auth: apiKey(API_KEY.toUpperCase()) }, invalid),
    c('a prefix of the key', { auth: apiKey(API_KEY.slice(0, -1)) }, invalid),
    c('the key with a suffix', { auth: apiKey(`${API_KEY}0`) }, invalid),
    c('two keys in one header', { auth: apiKey(`${API_KEY}, other-key`) }, invalid),
    c('the header sent twice with the valid key (Node joins them)', { auth: [...apiKey(API_KEY), ...apiKey(API_KEY)] }, invalid),
    c('the header name in lower case', { auth: [['x-api-key', API_KEY]] }, { status: 200 }),
    c('the header name in upper case', { auth: [['X-API-KEY', API_KEY]] }, { status: 200 }),
    c('the key between spaces (HTTP strips them, RFC 9110 §5.5)', { auth: apiKey(`   ${API_KEY}   `) }, { status: 200 }),
    c('the key with a Bearer prefix', { auth: apiKey(`Bearer ${API_KEY}`) }, invalid),
    c('the key as an Authorization Bearer token', { auth: [['Authorization', `Bearer ${API_KEY}`]] }, missing),
    c('non-ASCII bytes in the key', { auth: apiKey(bytes(API_KEY, 'ü')) }, invalid),
    c('an 8 kB key', { auth: apiKey('k'.repeat(8192)) }, invalid),
    c('a wrong key and a body declared far over the limit', { auth: apiKey('wrong'), headers: [['Content-Length', String(50 * 1024 * 1024)]], body: '{', framing: 'none' }, invalid),
    // Numbers
    c('an id of 2^53 + 1 (JSON.parse rounds it; refused as unsafe)', { body: withRaw(target, ['id'], '9007199254740993') }, payload),
    c('an id of 1.5', { body: withRaw(target, ['id'], '1.5') }, payload),
    c('an id written 1.0 (the number 1 in JSON)', { body: withRaw(target, ['id'], '1.0') }, { status: 200 }),
    c('an id written 5e0', { body: withRaw(target, ['id'], '5e0') }, { status: 200 }),
    c('a subscription_id of 0', { body: withRaw(target, ['subscription_id'], '0') }, payload),
    c('a price of 1e400 (Infinity)', { body: withRaw(target, item('price_with_tax'), '1e400') }, payload),
    c('a vat of 1e400 (Infinity)', { body: withRaw(target, item('vat'), '1e400') }, payload),
    c('a vat of -1e400', { body: withRaw(target, item('vat'), '-1e400') }, payload),
    c('a vat of -0 (handed over as 0)', { body: withRaw(target, item('vat'), '-0') }, { status: 200, event: (e) => expect(Object.is(pick(e, item('vat')), 0)).to.equal(true) }),
    c('a vat of -1e-400 (underflows to -0)', { body: withRaw(target, item('vat'), '-1e-400') }, { status: 200, event: (e) => expect(Object.is(pick(e, item('vat')), 0)).to.equal(true) }),
    c('a price of -0 (handed over as 0)', { body: withRaw(target, item('price_with_tax'), '-0') }, { status: 200, event: priceIs(0) }),
    c('a price of 2^53 - 1', { body: withRaw(target, item('price_with_tax'), '9007199254740991') }, { status: 200 }),
    c('a price of -(2^53)', { body: withRaw(target, item('price_with_tax'), '-9007199254740992') }, payload),
    c('a price as a string', { body: withValue(target, item('price_with_tax'), '2990') }, payload),
    // Strings
    c('a tracking key of 255 astral characters (510 UTF-16 units)', { body: withValue(target, ['message', 'tracking_key'], '😀'.repeat(255)) }, { status: 200 }),
    c('a tracking key of 256 characters', { body: withValue(target, ['message', 'tracking_key'], 'x'.repeat(256)) }, payload),
    c('a 90 kB carrier key of 4-byte characters', { body: withValue(target, ['message', 'carrier_key'], '😀'.repeat(22_000)) }, { status: 200 }),
    c('an unexpected event name 90 kB long', { body: withValue(target, ['event'], 'e'.repeat(90_000)) }, payload),
    // Duplicate keys and prototype keys deeper down
    c('a duplicate "event", the last one unknown', { body: withMember(valid(target), '"event":"order_items.unknown"', 'end') }, payload),
    c('a duplicate price in an item, the last one a string', { body: withRaw(target, item('price_with_tax'), `2990,"price_with_tax":"2990"`) }, payload),
    c('__proto__ carrying the carrier_key message lacks (io-ts alone would accept it)', { body: hiddenInProto(target, ['message'], 'carrier_key') }, protoAt('/message/__proto__')),
    c('__proto__ carrying the sku an item lacks', { body: hiddenInProto(target, ['message', 'items', 0], 'sku') }, protoAt('/message/items/0/__proto__')),
    c('__proto__ in an item', { body: withRaw(target, item('__proto__'), '{"polluted":"yes","status":"open"}') }, protoAt('/message/items/0/__proto__')),
    c('__proto__ in custom_data', { body: withRaw(target, item('custom_data'), '{"__proto__":{"polluted":"yes"}}') }, protoAt('/message/items/0/custom_data/__proto__')),
    c('constructor and prototype in custom_data (kept as plain keys)', { body: withRaw(target, item('custom_data'), '{"constructor":{"prototype":{"polluted":"yes"}},"prototype":1}') }, {
      status: 200,
      event: (e) => {
        const data = pick(e, item('custom_data'))
        expect(Object.getPrototypeOf(data)).to.equal(Object.prototype)
        expect(data).to.deep.equal({ constructor: { prototype: { polluted: 'yes' } }, prototype: 1 })
      }
    }),
    c('100 000 nested objects in custom_data (kept, no stack overflow)', { body: withRaw(target, item('custom_data'), deepObject('{}')) }, { status: 200, event: (e) => expect(depthOf(pick(e, item('custom_data')))).to.equal(DEPTH + 1) }, { limit: '5mb' }),
    c('a deeply nested items array', { body: withRaw(target, ['message', 'items'], deepArray()) }, payload, { limit: '5mb' })
  ]
}

const bearerAuth = (value: string | Buffer): HeaderLines => [['Authorization', value]]

/** A bearer token (RFC 6750), and the codec of the partner defined in spec/helpers/booking-partner.ts. */
const booking = (target: Target): Case[] => {
  const c = (name: string, request: Req, expect: Expectation): Case => ({ name, target, request, expect })
  const challenge = (a: RawAnswer) => expect(a.headers['www-authenticate']).to.equal('Bearer realm="booking"')
  const missing = { status: 401, type: 'webhook.auth.missing', check: challenge } as const
  const invalid = { status: 401, type: 'webhook.auth.invalid', check: challenge } as const
  const payload = { status: 400, type: 'webhook.payload.invalid' } as const
  const updatedAt = (e: unknown) => (pick(e, ['updated_at']) instanceof Date ? pick(e, ['updated_at']) : undefined)
  return [
    c('no Authorization header', { auth: [] }, missing),
    c('an empty Authorization header', { auth: bearerAuth('') }, missing),
    c('the scheme name alone', { auth: bearerAuth('Bearer') }, invalid),
    c('a wrong token', { auth: bearerAuth('Bearer bk-hostile_Token.0123~456+789/=A') }, invalid),
    c('the token without its padding', { auth: bearerAuth(`Bearer ${BEARER_TOKEN.replace(/=+$/, '')}`) }, invalid),
    c('the token with a suffix', { auth: bearerAuth(`Bearer ${BEARER_TOKEN}=`) }, invalid),
    c('the token in another case', { auth: bearerAuth(`Bearer ${BEARER_TOKEN.toUpperCase()}`) }, invalid),
    c('the lowercase scheme name bearer (RFC 9110 §11.1: case-insensitive)', { auth: bearerAuth(`bearer ${BEARER_TOKEN}`) }, { status: 200 }),
    c('the uppercase scheme name BEARER', { auth: bearerAuth(`BEARER ${BEARER_TOKEN}`) }, { status: 200 }),
    c('the token without a scheme', { auth: bearerAuth(BEARER_TOKEN) }, invalid),
    c('the token under the Basic scheme', { auth: bearerAuth(`Basic ${BEARER_TOKEN}`) }, invalid),
    c('the token base64-encoded', { auth: bearerAuth(`Bearer ${Buffer.from(BEARER_TOKEN).toString('base64')}`) }, invalid),
    c('a tab instead of a space after the scheme', { auth: bearerAuth(`Bearer\t${BEARER_TOKEN}`) }, invalid),
    c('a second token after the first', { auth: bearerAuth(`Bearer ${BEARER_TOKEN} ${BEARER_TOKEN}`) }, invalid),
    c('a comma-separated second credential', { auth: bearerAuth(`Bearer ${BEARER_TOKEN}, Bearer ${BEARER_TOKEN}`) }, invalid),
    c('the valid header sent twice', { auth: [...bearerAuth(`Bearer ${BEARER_TOKEN}`), ...bearerAuth(`Bearer ${BEARER_TOKEN}`)] }, invalid),
    c('the header sent twice, valid first (Node would keep only the first)', { auth: [...bearerAuth(`Bearer ${BEARER_TOKEN}`), ...bearerAuth('Bearer wrong')] }, invalid),
    c('non-ASCII bytes after the token', { auth: bearerAuth(bytes(`Bearer ${BEARER_TOKEN}`, 'ü')) }, invalid),
    c('an 8 kB token', { auth: bearerAuth(`Bearer ${'k'.repeat(8192)}`) }, invalid),
    c('the token in Proxy-Authorization only', { auth: [['Proxy-Authorization', `Bearer ${BEARER_TOKEN}`]] }, missing),
    c('the token as X-API-Key', { auth: [['X-API-Key', BEARER_TOKEN]] }, missing),
    c('a wrong token and a body declared far over the limit', { auth: bearerAuth('Bearer wrong'), headers: [['Content-Length', String(50 * 1024 * 1024)]], body: '{', framing: 'none' }, invalid),
    // Values past the codec's rules
    c('a version of 0', { body: withRaw(target, ['version'], '0') }, payload),
    c('a version of -0', { body: withRaw(target, ['version'], '-0') }, payload),
    c('a version of 1.5', { body: withRaw(target, ['version'], '1.5') }, payload),
    c('a version of 2^53 (past the largest safe integer)', { body: withRaw(target, ['version'], '9007199254740992') }, payload),
    c('a version of 2^53 - 1', { body: withRaw(target, ['version'], '9007199254740991') }, { status: 200 }),
    c('a version as a string', { body: withValue(target, ['version'], '3') }, payload),
    c('a status in another case', { body: withValue(target, ['status'], 'CONFIRMED') }, payload),
    c('a status inherited from Object.prototype ("toString")', { body: withValue(target, ['status'], 'toString') }, payload),
    c('a date-time without an offset', { body: withValue(target, ['updated_at'], '2026-12-01T10:00:00') }, payload),
    c('a date-time with a space instead of T', { body: withValue(target, ['updated_at'], '2026-12-01 10:00:00Z') }, payload),
    c('29 February of a common year', { body: withValue(target, ['updated_at'], '2026-02-29T10:00:00Z') }, payload),
    c('a leap second, 23:59:60 UTC (RFC 3339 §5.6)', { body: withValue(target, ['updated_at'], '2016-12-31T23:59:60Z') }, {
      status: 200,
      event: (e) => expect(updatedAt(e)).to.deep.equal(new Date('2017-01-01T00:00:00Z'))
    }),
    c('a 90 kB date-time (RFC 3339 sets no limit on fraction digits)', { body: withValue(target, ['updated_at'], `2026-12-01T10:00:00.${'1'.repeat(90_000)}Z`) }, { status: 200 }),
    c('__proto__ carrying the status the body lacks (io-ts alone would accept it)', { body: hiddenInProto(target, [], 'status') }, protoAt('/__proto__'))
  ]
}

/** Source-address allowlist cases; every target gets them. */
const allowlist = (target: Target): Case[] => {
  const c = (name: string, request: Req, expect: Expectation, options: TargetOptions, followUp = 200): Case => ({ name, target, request, expect, options, followUp })
  const forbidden = { status: 403, type: 'webhook.ip.forbidden' } as const
  return [
    c('allowIps without 127.0.0.1', {}, forbidden, { allowIps: ['10.0.0.0/8', '2001:db8::/32'] }, 403),
    c('allowIps with 127.0.0.1', {}, { status: 200 }, { allowIps: ['127.0.0.1'] }),
    c('allowIps with 127.0.0.0/8', {}, { status: 200 }, { allowIps: ['10.0.0.0/8', '127.0.0.0/8'] }),
    c('allowIps with the IPv4-mapped ::ffff:127.0.0.1', {}, { status: 200 }, { allowIps: ['::ffff:127.0.0.1'] }),
    c('allowIps and wrong credentials: the address passes, the credentials do not', { auth: [target.wrongAuth] }, { status: 401, type: 'webhook.auth.invalid' }, { allowIps: ['127.0.0.1'] }),
    c('a refused address with wrong credentials: 403, the address is checked first', { auth: [target.wrongAuth] }, forbidden, { allowIps: ['10.0.0.1'] }, 403),
    c('a refused address with GET: 403 before the method', { method: 'GET' }, forbidden, { allowIps: ['10.0.0.1'] }, 403),
    c('allowIps alone (dangerouslyDisableAuthentication) from an allowed address, no credentials', { auth: [] }, { status: 200 }, { allowIps: ['127.0.0.1'], ipOnly: true }),
    c('allowIps alone from a refused address', { auth: [] }, forbidden, { allowIps: ['192.0.2.0/24'], ipOnly: true }, 403),
    c('a spoofed X-Forwarded-For without trust proxy (ignored)', { headers: [['X-Forwarded-For', '203.0.113.7']] }, forbidden, { allowIps: ['203.0.113.0/24'] }, 403),
    c('X-Forwarded-For from a trusted proxy (trust proxy: loopback)', { headers: [['X-Forwarded-For', '203.0.113.7']] }, { status: 200 }, { allowIps: ['203.0.113.0/24', '127.0.0.1'], trustProxy: 'loopback' }),
    c('X-Forwarded-For outside the allowlist from a trusted proxy', { headers: [['X-Forwarded-For', '198.51.100.1']] }, forbidden, { allowIps: ['203.0.113.0/24'], trustProxy: 'loopback' }, 403),
    c('an IPv4-mapped X-Forwarded-For against an IPv4 range', { headers: [['X-Forwarded-For', '::ffff:203.0.113.7']] }, { status: 200 }, { allowIps: ['203.0.113.0/24', '127.0.0.1'], trustProxy: 'loopback' }),
    c('an IPv6 X-Forwarded-For in an IPv6 range', { headers: [['X-Forwarded-For', '2001:DB8::1']] }, { status: 200 }, { allowIps: ['2001:db8::/32', '127.0.0.1'], trustProxy: 'loopback' }),
    c('a garbled X-Forwarded-For from a trusted proxy', { headers: [['X-Forwarded-For', '203.0.113.7:443, <script>']] }, forbidden, { allowIps: ['203.0.113.0/24'], trustProxy: true }, 403),
    c('an X-Forwarded-For with a port', { headers: [['X-Forwarded-For', '203.0.113.7:443']] }, forbidden, { allowIps: ['203.0.113.0/24'], trustProxy: true }, 403)
  ]
}

/** Cases of one partner's scheme and codec, by target name; a target without any gets the common and allowlist cases. */
const OWN: Readonly<Record<string, (target: Target) => Case[]>> = { musement, aboutYouShipment: aboutYou, aboutYouWebhooks: aboutYou, booking }

const CASES: ReadonlyArray<Case> = [...TARGETS.flatMap(common), ...TARGETS.flatMap((t) => OWN[t.name]?.(t) ?? []), ...TARGETS.flatMap(allowlist)]

const STACK_TRACE = /\n\s+at |\bat [\w.<>]+ \(|\.[cm]?[jt]s:\d+|Error:/

/** Every credential-like value a case sent, plus the configured secrets: none may come back or reach a hook. */
const secretsOf = (req: Req): string[] => [
  ...SECRETS,
  ...(req.auth ?? []).map(([, v]) => (typeof v === 'string' ? v : v.toString('latin1'))).filter((v) => v.trim().length >= 8)
]

const requestFor = (c: Case): { method: string; path: string; headers: HeaderLines; body: Buffer; framing: 'length' | 'chunked' | 'none' } => {
  const r = c.request
  const contentType: HeaderLines = r.contentType === null ? [] : [['Content-Type', r.contentType ?? 'application/json']]
  const body = r.body === undefined ? Buffer.from(valid(c.target)) : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body, 'utf8')
  return { method: r.method ?? 'POST', path: PATH, headers: [...(r.auth ?? [c.target.auth]), ...contentType, ...(r.headers ?? [])], body, framing: r.framing ?? 'length' }
}

const stripBom = (b: Buffer): Buffer => (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? b.subarray(3) : b)

const checkAccepted = (c: Case, rec: Recorder, answer: RawAnswer, body: Buffer, check: ((event: unknown) => void) | undefined): void => {
  expect(answer.status, answer.text).to.equal(200)
  expect(JSON.parse(answer.text)).to.deep.equal({ status: 'processed' })
  expect(rec.rejections).to.deep.equal([])
  expect(rec.events).to.have.length(1)
  if (check !== undefined) return check(rec.events[0])
  const decoded = c.target.codec.decode(JSON.parse(stripBom(body).toString('utf8')))
  if (E.isLeft(decoded)) throw new Error('an accepted body must decode')
  expect(rec.events[0]).to.deep.equal(decoded.right)
}

const checkRefused = (rec: Recorder, answer: RawAnswer, method: string, status: number, type: ProblemType): void => {
  expect(answer.status, answer.text.slice(0, 500)).to.equal(status)
  expect(answer.headers['content-type']).to.match(/^application\/problem\+json/)
  expect(Buffer.byteLength(answer.text)).to.be.below(4096)
  if (method !== 'HEAD') expect(problemOf({ status: answer.status, headers: {}, text: answer.text })).to.include({ type, status })
  expect(rec.events, 'the handler must not run').to.deep.equal([])
  expect(rec.rejections.map((r) => [r.status, r.type])).to.deep.equal([[status, type]])
  const headers = rec.rejections[0]?.headers ?? {}
  for (const name of ['authorization', 'x-api-key', 'proxy-authorization', 'cookie']) {
    if (headers[name] !== undefined) expect(headers[name], name).to.equal('[redacted]')
  }
  expect(rec.outcomes.map((o) => [o.outcome, o.status, o.type])).to.deep.equal([['rejected', status, type]])
}

const prototypeNames = Object.getOwnPropertyNames(Object.prototype).sort()

describe('hostile/catalogue', function () {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => void unhandled.push(reason)
  before(() => process.on('unhandledRejection', onUnhandled))
  after(() => {
    process.off('unhandledRejection', onUnhandled)
    expect(unhandled).to.deep.equal([])
  })
  afterEach(() => {
    expect('polluted' in {}, 'Object.prototype was polluted').to.equal(false)
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).to.deep.equal(prototypeNames)
  })

  it(`has at least 60 cases over every partner (${CASES.length})`, () => {
    expect(CASES.length).to.be.at.least(60)
    expect(new Set(CASES.map((c) => c.target))).to.deep.equal(new Set(TARGETS))
    expect(new Set(CASES.map((c) => `${c.target.name}: ${c.name}`)).size, 'case names are unique').to.equal(CASES.length)
  })

  for (const c of CASES) {
    it(`${c.target.name}: ${c.name}`, async () => {
      const { app, rec } = targetApp(c.target, c.options)
      const server = await listen(app)
      try {
        const request = requestFor(c)
        const answer = await sendRaw(server.port, request)
        const e = c.expect
        if ('node' in e) {
          expect(answer.status).to.equal(e.node)
          expect(answer.headers['content-type'], 'a bare answer from Node').to.equal(undefined)
          expect(rec.events).to.deep.equal([])
        } else if (e.status === 200) checkAccepted(c, rec, answer, request.body, e.event)
        else {
          checkRefused(rec, answer, request.method, e.status, e.type)
          e.check?.(answer)
        }
        expect(answer.text).not.to.match(STACK_TRACE)
        const seen = [answer.text, JSON.stringify(answer.headers), JSON.stringify(rec.rejections), JSON.stringify(rec.outcomes)].join('\n')
        for (const secret of secretsOf(c.request)) expect(seen.includes(secret), `a credential leaked: ${secret.slice(0, 12)}...`).to.equal(false)
        expect(rec.errors, 'nothing may reach the error handler').to.deep.equal([])
        // The server still answers: a valid delivery afterwards gets its usual status.
        const again = await sendRaw(server.port, requestFor({ ...c, request: {} }))
        expect(again.status, again.text).to.equal(c.followUp ?? 200)
      } finally {
        await server.close()
      }
    })
  }

  it('onReject sees the request headers with every credential redacted', async () => {
    const { app, rec } = targetApp(MUSEMENT)
    const server = await listen(app)
    try {
      const headers: HeaderLines = [
        ['Authorization', basicAuthHeader('musement', 'a-wrong-but-secret-password')],
        ['Proxy-Authorization', 'Basic cHJveHk6c2VjcmV0'],
        ['X-API-Key', API_KEY],
        ['Cookie', 'session=s3cr3t-session'],
        ['Content-Type', 'application/json'],
        ['X-Request-Id', 'req-42'],
        ['__proto__', 'x']
      ]
      const answer = await sendRaw(server.port, { path: PATH, headers, body: Buffer.from(valid(MUSEMENT)) })
      expect(answer.status).to.equal(401)
      const seen = rec.rejections[0]?.headers ?? {}
      expect(seen).to.deep.include({ authorization: '[redacted]', 'proxy-authorization': '[redacted]', 'x-api-key': '[redacted]', cookie: '[redacted]', 'x-request-id': 'req-42' })
      for (const secret of ['a-wrong-but-secret-password', 'cHJveHk6c2VjcmV0', API_KEY, 's3cr3t-session']) {
        expect(JSON.stringify(rec.rejections).includes(secret), secret).to.equal(false)
        expect(answer.text.includes(secret), secret).to.equal(false)
      }
      expect(Object.isFrozen(seen)).to.equal(true)
    } finally {
      await server.close()
    }
  })

  describe('bodies that must not be read to the end', () => {
    const MB = 1024 * 1024
    for (const target of TARGETS) {
      const wrong: HeaderLines = [target.wrongAuth, ['Content-Type', 'application/json']]

      it(`${target.name}: a 50 MB chunked body with bad credentials is answered 401 at once and not read to the end`, async () => {
        const { app, rec } = targetApp(target)
        const server = await listen(app)
        try {
          const streamed = await streamChunked(server.port, { path: PATH, headers: wrong, total: 50 * MB, chunkSize: 64 * 1024, pauseMs: 0 })
          expect(streamed.answer?.status).to.equal(401)
          expect(streamed.sentWhenAnswered, 'answered before the body').to.be.below(2 * MB)
          expect(streamed.sent, 'the server cut the upload off').to.be.below(10 * MB)
          const read = server.sockets.reduce((n, s) => n + s.bytesRead, 0)
          expect(read, 'bytes the server read').to.be.below(LINGER_MAX_BYTES + 2 * MB)
          expect(rec.events).to.deep.equal([])
          expect(rec.errors).to.deep.equal([])
        } finally {
          await server.close()
        }
      })
    }

    it('a slow chunked upload past the limit is answered 413 while the sender is still sending, and cut off', async () => {
      const { app, rec } = targetApp(MUSEMENT)
      const server = await listen(app)
      try {
        const headers: HeaderLines = [['Authorization', MUSEMENT_AUTH], ['Content-Type', 'application/json']]
        const streamed = await streamChunked(server.port, { path: PATH, headers, total: 20 * MB, chunkSize: 16 * 1024, pauseMs: 2 })
        expect(streamed.answer?.status).to.equal(413)
        // The limit is 100 kB: the answer came within a few chunks of it, long before the 20 MB were sent.
        expect(streamed.sentWhenAnswered).to.be.within(100 * 1024, 1 * MB)
        expect(streamed.sent).to.be.below(2 * MB)
        const read = server.sockets.reduce((n, s) => n + s.bytesRead, 0)
        expect(read).to.be.below(100 * 1024 + LINGER_MAX_BYTES + 1 * MB)
        expect(rec.rejections.map((r) => r.type)).to.deep.equal(['webhook.body.too_large'])
        expect(rec.events).to.deep.equal([])
      } finally {
        await server.close()
      }
    })

    for (const how of ['disconnects', 'half-closes'] as const) {
      it(`a sender that ${how} mid-body: no handler, no exception, onReject sees webhook.body.unreadable`, async () => {
        const { app, rec } = targetApp(ABOUT_YOU_WEBHOOKS)
        const server = await listen(app)
        try {
          const socket = connect(server.port, '127.0.0.1')
          socket.on('error', () => undefined)
          await new Promise((resolve) => socket.once('connect', resolve))
          socket.write(`POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"id":1`)
          await sleep(20)
          if (how === 'disconnects') socket.destroy()
          else socket.end()
          for (let waited = 0; rec.rejections.length === 0 && waited < 2000; waited += 10) await sleep(10)
          socket.destroy()
          expect(rec.rejections.map((r) => [r.status, r.type])).to.deep.equal([[400, 'webhook.body.unreadable']])
          expect(rec.events).to.deep.equal([])
          expect(rec.errors).to.deep.equal([])
        } finally {
          await server.close()
        }
      })
    }
  })
})
