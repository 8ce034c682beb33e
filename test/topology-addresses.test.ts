import { describe, expect, it } from 'vitest';
import {
  checkIpv4,
  checkIpv6,
  checkMac,
  defaultIpv4,
  defaultIpv6,
  defaultMac,
  ipv6Key,
  parseIpv4Cidr,
  parseIpv6Cidr,
  parseMacAddress,
} from '../src/topology/addresses.js';
import { parseMac } from '../src/wire/index.js';

describe('rack-file addresses, parsed by src/wire', () => {
  it('MACs: the wire parser, taken as written (no surrounding spaces)', () => {
    const m = parseMacAddress('02:E0:00:00:01:ff')!;
    expect(m.addr).toBe(parseMac('02:e0:00:00:01:ff'));
    expect([...m.bytes]).toEqual([2, 0xe0, 0, 0, 1, 0xff]);
    expect(m.text).toBe('02:e0:00:00:01:ff');
    expect(parseMacAddress('02-e0-00-00-01-ff')!.text).toBe('02:e0:00:00:01:ff');
    for (const bad of [' 02:e0:00:00:01:ff', '02:e0:00:00:01:ff ', '02:e0-00:00:01:ff', '02:e0:00:00:01', 'zz:e0:00:00:01:ff']) {
      expect(parseMacAddress(bad), bad).toBeNull();
    }
    expect(checkMac('03:00:00:00:00:01')).toContain('unicast');
    expect(checkMac('00:00:00:00:00:00')).toContain('all-zero');
    expect(checkMac('02:00:00:00:00:01')).toBeNull();
  });

  it('IPv4 with a prefix: four decimal octets, no leading zeros, prefix 0..32', () => {
    expect(parseIpv4Cidr('10.11.0.5/24')).toEqual({ addr: 0x0a0b0005, prefix: 24, text: '10.11.0.5', cidr: '10.11.0.5/24' });
    expect(parseIpv4Cidr('10.11.0.5/0')!.prefix).toBe(0);
    for (const bad of ['10.11.0.5', '10.11.0.05/24', '10.11.0.5/08', '10.11.0.5/33', '10.11.0.256/24', ' 10.11.0.5/24', '10.11.0.5/24 ', '10.11.5/24', '0x0a.11.0.5/24']) {
      expect(parseIpv4Cidr(bad), bad).toBeNull();
    }
    expect(checkIpv4('10.11.0.0/24')).toContain('network address');
    expect(checkIpv4('10.11.0.255/24')).toContain('broadcast address');
    expect(checkIpv4('127.0.0.1/8')).toContain('loopback');
  });

  it('IPv6 with a prefix: RFC 5952 text, no zone, prefix 0..128', () => {
    expect(parseIpv6Cidr('fd00:00e0:0:0::5/64')!.cidr).toBe('fd00:e0::5/64');
    for (const bad of ['fd00:e0::5', 'fe80::1%eth0/64', 'fd00:e0::5/129', ' fd00:e0::5/64', 'fd00:e0::5 /64', 'fd00:e0::5/6x']) {
      expect(parseIpv6Cidr(bad), bad).toBeNull();
    }
    expect(ipv6Key(parseIpv6Cidr('fd00:e0::5/64')!.bytes)).toBe(ipv6Key(parseIpv6Cidr('fd00:e0:0::0:5/48')!.bytes));
    expect(checkIpv6('ff02::1/64')).toContain('multicast');
  });

  it('defaults derive from the compute host index', () => {
    expect(defaultMac(0).text).toBe('02:e0:00:00:00:01');
    expect(defaultMac(299).text).toBe('02:e0:00:00:01:2c');
    expect(defaultIpv4(253)!.cidr).toBe('10.11.0.254/24');
    expect(defaultIpv4(254)).toBeNull();
    expect(defaultIpv6(9).cidr).toBe('fd00:e0::a/64');
  });
});
