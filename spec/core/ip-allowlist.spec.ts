import { expect } from 'chai'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { BlockList, isIP } from 'node:net'
import { checkSource, ipAllowlist, parseAddress, parseRange, type IpRange } from '../../lib/core/ip-allowlist.js'
import { aboutYouShipment } from '../../lib/partners/aboutyou/middleware.js'
import { musementOrderItem } from '../../lib/partners/musement/middleware.js'

const range = (entry: string): IpRange => {
  const r = parseRange(entry)
  if (E.isLeft(r)) throw new Error(`${entry} ${r.left}`)
  return r.right
}
const allows = (entries: ReadonlyArray<string>, address: string | undefined): boolean => ipAllowlist(entries.map(range))(address)
const whyNot = (entry: string): string => {
  const r = parseRange(entry)
  return E.isLeft(r) ? r.left : 'accepted'
}

// A network with every bit past `prefix` cleared, written out in full (no `::`), so it parses as a range.
const network = (groups: ReadonlyArray<number>, bits: number, prefix: number): ReadonlyArray<number> =>
  groups.map((g, i) => {
    const keep = Math.min(bits, Math.max(0, prefix - i * bits))
    return keep === 0 ? 0 : g & (((1 << keep) - 1) << (bits - keep))
  })
const v4 = (octets: ReadonlyArray<number>): string => octets.join('.')
const v6 = (groups: ReadonlyArray<number>): string => groups.map((g) => g.toString(16)).join(':')

describe('core/ip-allowlist', () => {
  describe('parseAddress', () => {
    const same: ReadonlyArray<ReadonlyArray<string>> = [
      ['1.2.3.4', '::ffff:1.2.3.4', '::FFFF:102:304', '0:0:0:0:0:ffff:0102:0304'], // IPv4 and its IPv4-mapped forms
      ['::1', '0:0:0:0:0:0:0:1', '0000:0000:0000:0000:0000:0000:0000:0001'],
      ['::', '0:0:0:0:0:0:0:0', '::0:0:0:0:0:0:0', '0:0:0:0:0:0:0::'],
      ['2001:db8::1', '2001:DB8:0:0:0:0:0:1', '2001:db8:0::0:1'],
      ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
      ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
      ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
      ['::1.2.3.4', '::102:304'] // IPv4-compatible (deprecated): a different address from the mapped one
    ]
    for (const forms of same) {
      it(`reads ${forms.join(', ')} as one address`, () => {
        const values = forms.map(parseAddress)
        expect(values[0]).to.be.a('bigint')
        expect(new Set(values).size).to.equal(1)
      })
    }

    it('tells the IPv4-mapped and IPv4-compatible forms apart', () => {
      expect(parseAddress('::1.2.3.4')).not.to.equal(parseAddress('1.2.3.4'))
    })

    const refused = [
      '', ' ', '1.2.3', '1.2.3.4.5', '256.0.0.1', '1.2.3.-1', '01.2.3.4', '1.2.3.04', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.4\n',
      '0x1.2.3.4', '1.2.3.4/8', '1:2:3:4:5:6:7:8:9', '1::2:3:4:5:6:7:8', '1::2::3', ':1::', '::1:', '1:::2', ':::', '12345::', 'g::',
      '::1.2.3', '1.2.3.4::', '::1.2.3.4:5', '1:2:3:4:5:6:7:1.2.3.4', '::ffff:1.2.3.256', '::ffff:01.2.3.4', 'fe80::1%eth0', '[::1]',
      'localhost', '203.0.113.7:443', `::${'0:'.repeat(40)}1`, '１.2.3.4'
    ]
    for (const input of refused) it(`refuses ${JSON.stringify(input)}`, () => expect(parseAddress(input)).to.equal(undefined))

    it('accepts exactly what Node accepts (net.isIP), zone indices aside', () => {
      const near = fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.'), maxLength: 45 }))
      const mutated = fc.tuple(near, fc.nat(), fc.constantFrom('', ':', '.', '0', '::', 'f', '1.2')).map(([s, at, insert]) => {
        const i = at % (s.length + 1)
        return s.slice(0, i) + insert + s.slice(i + (at % 3 === 0 ? 1 : 0))
      })
      fc.assert(
        fc.property(fc.oneof(near, mutated), (s) => {
          expect(parseAddress(s) !== undefined, s).to.equal(isIP(s) !== 0)
        }),
        { numRuns: 3000 }
      )
    })

    it('gives every textual form of an address the same value (compared with the WHATWG URL serialisation)', () => {
      fc.assert(
        fc.property(fc.ipV6(), (s) => {
          const canonical = new URL(`http://[${s}]/`).hostname.slice(1, -1)
          expect(parseAddress(s), `${s} = ${canonical}`).to.equal(parseAddress(canonical))
        }),
        { numRuns: 500 }
      )
    })
  })

  describe('parseRange', () => {
    it('accepts addresses and CIDR ranges', () => {
      for (const entry of ['203.0.113.7', '203.0.113.0/24', '0.0.0.0/0', '10.0.0.0/8', '2001:db8::/32', '::/0', '::1/128', '::ffff:10.0.0.0/104', '1.2.3.4/32']) {
        expect(whyNot(entry), entry).to.equal('accepted')
      }
    })

    it('refuses a range with host bits set, suggesting the network address', () => {
      expect(whyNot('10.0.0.1/8')).to.equal('has bits set past its prefix; did you mean 10.0.0.0/8?')
      expect(whyNot('2001:db8::1/32')).to.equal('has bits set past its prefix; did you mean 2001:db8::/32?')
      expect(whyNot('2001:db8:0:1:0:0:1:0/64')).to.equal('has bits set past its prefix; did you mean 2001:db8:0:1::/64?')
      expect(whyNot('1:0:0:2:0:0:0:3/112')).to.equal('has bits set past its prefix; did you mean 1:0:0:2::/112?')
    })

    it('refuses prefix lengths out of range or badly written, and anything that is not an address', () => {
      for (const entry of ['10.0.0.0/33', '::/129', '10.0.0.0/08', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/8/8', '10.0.0.0/ 8', '10.0.0.0/1e1']) {
        expect(whyNot(entry), entry).to.match(/^has a prefix length outside 0-(32|128)$/)
      }
      for (const entry of ['x/8', '/8', '', '10.0.0.0 /8', 'localhost', '*', '10.0.0.*', '10.0.0.0-10.0.0.255']) {
        expect(whyNot(entry), entry).to.match(/^is not an IPv4 or IPv6 address/)
      }
    })
  })

  describe('ipAllowlist', () => {
    it('matches exact addresses and ranges, IPv4 peers in their IPv4-mapped form too', () => {
      expect(allows(['127.0.0.1'], '127.0.0.1')).to.equal(true)
      expect(allows(['127.0.0.1'], '::ffff:127.0.0.1')).to.equal(true) // how a dual-stack socket reports an IPv4 peer
      expect(allows(['::ffff:127.0.0.1'], '127.0.0.1')).to.equal(true)
      expect(allows(['127.0.0.1'], '127.0.0.2')).to.equal(false)
      expect(allows(['203.0.113.0/24'], '203.0.113.255')).to.equal(true)
      expect(allows(['203.0.113.0/24'], '::ffff:203.0.113.9')).to.equal(true)
      expect(allows(['203.0.113.0/24'], '203.0.114.0')).to.equal(false)
      expect(allows(['2001:db8::/32'], '2001:DB8:ffff::1')).to.equal(true)
      expect(allows(['2001:db8::/32'], '2001:db9::1')).to.equal(false)
      expect(allows(['10.0.0.0/8', '2001:db8::/32'], '2001:db8::1')).to.equal(true)
    })

    it('keeps the families apart: 0.0.0.0/0 is every IPv4 address, ::/0 every address', () => {
      expect(allows(['0.0.0.0/0'], '198.51.100.1')).to.equal(true)
      expect(allows(['0.0.0.0/0'], '2001:db8::1')).to.equal(false)
      expect(allows(['::/0'], '198.51.100.1')).to.equal(true)
    })

    it('never allows a missing or unparseable address (a garbled X-Forwarded-For)', () => {
      for (const address of [undefined, '', 'unknown', '<script>', '203.0.113.7:443', '203.0.113.7, 10.0.0.1', 'x'.repeat(10_000)]) {
        expect(allows(['0.0.0.0/0', '::/0'], address), String(address)).to.equal(false)
      }
    })

    it('agrees with Node\'s BlockList on IPv4 and IPv6 ranges', () => {
      const octets = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 })
      const groups = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })
      const inOrNear = (base: fc.Arbitrary<ReadonlyArray<number>>) => fc.tuple(base, base, fc.boolean())
      fc.assert(
        fc.property(inOrNear(octets), fc.integer({ min: 0, max: 32 }), ([net, other, inside], prefix) => {
          const subnet = network(net, 8, prefix)
          // Half the time the address keeps the network's bits, so both answers are exercised.
          const address = inside ? other.map((o, i) => (subnet[i] ?? 0) | (o & ~(network([255, 255, 255, 255], 8, prefix)[i] ?? 0))) : other
          const list = new BlockList()
          list.addSubnet(v4(subnet), prefix, 'ipv4')
          expect(allows([`${v4(subnet)}/${prefix}`], v4(address))).to.equal(list.check(v4(address), 'ipv4'))
          expect(allows([`${v4(subnet)}/${prefix}`], `::ffff:${v4(address)}`)).to.equal(list.check(v4(address), 'ipv4'))
        }),
        { numRuns: 1000 }
      )
      fc.assert(
        fc.property(inOrNear(groups), fc.integer({ min: 0, max: 128 }), ([net, other, inside], prefix) => {
          const subnet = network(net, 16, prefix)
          const mask = network(Array.from({ length: 8 }, () => 0xffff), 16, prefix)
          const address = inside ? other.map((o, i) => (subnet[i] ?? 0) | (o & ~(mask[i] ?? 0) & 0xffff)) : other
          const list = new BlockList()
          list.addSubnet(v6(subnet), prefix, 'ipv6')
          expect(allows([`${v6(subnet)}/${prefix}`], v6(address))).to.equal(list.check(v6(address), 'ipv6'))
        }),
        { numRuns: 1000 }
      )
    })
  })

  describe('checkSource', () => {
    it('passes everything without an allowlist, and refuses others with a 403 problem', () => {
      expect(E.isRight(checkSource(undefined, undefined))).to.equal(true)
      const refused = checkSource(ipAllowlist([range('10.0.0.0/8')]), '127.0.0.1')
      expect(E.isLeft(refused) && refused.left).to.deep.include({ type: 'webhook.ip.forbidden', status: 403 })
      expect(JSON.stringify(refused)).not.to.contain('10.0.0.0')
    })
  })

  describe('the allowIps option', () => {
    const credentials = { username: 'u', password: 'p' }
    // Plain JavaScript callers can pass anything.
    const factories = [
      // @ts-expect-error an option value of any type on purpose
      (allowIps: unknown) => musementOrderItem({ credentials, allowIps }),
      // @ts-expect-error an option value of any type on purpose
      (allowIps: unknown) => aboutYouShipment('order_items.shipped', { apiKeys: 'k', allowIps })
    ]

    it('accepts one entry or a list, and leaves the option out', () => {
      for (const make of factories) {
        expect(() => make(undefined)).not.to.throw()
        expect(() => make('203.0.113.7')).not.to.throw()
        expect(() => make(['203.0.113.0/24', '2001:db8::/32', '::ffff:10.0.0.1'])).not.to.throw()
      }
      expect(() => musementOrderItem({ dangerouslyDisableAuthentication: true, allowIps: ['203.0.113.0/24'] })).not.to.throw()
    })

    it('refuses a bad entry at factory time, naming it and the fix', () => {
      for (const make of factories) {
        expect(() => make([])).to.throw(TypeError, /`allowIps` is empty: list at least one address or CIDR range, or leave the option out/)
        expect(() => make('10.0.0.1/8')).to.throw(TypeError, /`allowIps` "10.0.0.1\/8" has bits set past its prefix; did you mean 10.0.0.0\/8\?/)
        expect(() => make(['10.0.0.0/8', 'localhost'])).to.throw(TypeError, /`allowIps\[1\]` "localhost" is not an IPv4 or IPv6 address/)
        expect(() => make([10])).to.throw(TypeError, /`allowIps\[0\]` must be a string/)
        expect(() => make('10.0.0.0/40')).to.throw(TypeError, /prefix length outside 0-32/)
      }
      expect(() => musementOrderItem({ credentials, allowIps: ['fe80::1%eth0'] })).to.throw(TypeError, /^musementOrderItem: `allowIps\[0\]`/)
    })

    it('has its name suggested for a typo', () => {
      // @ts-expect-error a misspelt option on purpose
      expect(() => musementOrderItem({ credentials, allowIp: ['10.0.0.1'] })).to.throw(TypeError, /Did you mean `allowIps`\?/)
    })
  })
})
