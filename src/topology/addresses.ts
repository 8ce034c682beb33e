/**
 * Addresses as the rack file writes them (`02:e0:00:00:00:01`, `10.11.0.5/24`, `fd00:e0::5/64`):
 * parsing, the checks the file format applies (unicast, not a network or broadcast address), and
 * the default address of the n-th compute host. The text forms are parsed by `src/wire`, so there is
 * one MAC parser and one IP parser in the tree; this file adds only what a config needs on top
 * (prefix lengths, no surrounding spaces, the resolved forms of `MacAddress`/`Ipv4Cidr`/`Ipv6Cidr`).
 */
import ipaddr from 'ipaddr.js';
import { formatIpv4, formatIpv6, formatMac, parseIpv4, parseIpv6, parseMac } from '../wire/index.js';
import type { Check } from './checks.js';
import { LIMITS, type Ipv4Cidr, type Ipv6Cidr, type MacAddress } from './types.js';

/** wire's parsers forgive surrounding spaces (for the CLI); a config value is taken as written. */
const untrimmed = (text: string): boolean => text.trim() === text;

// --- MAC ---------------------------------------------------------------------------------------

/** The resolved form of a 48-bit MAC held as a number (first octet most significant). */
export function macAddress(addr: number): MacAddress {
  const bytes = new Uint8Array(6);
  let rest = addr;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  return { addr, bytes, text: formatMac(addr) };
}

/** Parses "02:e0:00:00:00:01" (or with "-"); null if malformed. Does not check unicast. */
export function parseMacAddress(text: string): MacAddress | null {
  if (!untrimmed(text)) return null;
  const addr = parseMac(text);
  return addr === null ? null : macAddress(addr);
}

export const checkMac: Check = (v) => {
  const example = 'must be a MAC address like "02:e0:00:00:00:01"';
  if (typeof v !== 'string') return example;
  const mac = parseMacAddress(v);
  if (mac === null) return example;
  if ((mac.bytes[0]! & 1) !== 0) return 'must be a unicast MAC address (the lowest bit of the first octet must be 0)';
  if (mac.addr === 0) return 'must not be the all-zero MAC address';
  return null;
};

/** Default MAC of the compute host at `index`: 02:e0:00:00:HH:LL with HHLL = index + 1. */
export function defaultMac(index: number): MacAddress {
  return macAddress(0x02e0_0000_0000 + ((index + 1) & 0xffff));
}

// --- IPv4 --------------------------------------------------------------------------------------

function ipv4Cidr(addr: number, prefix: number): Ipv4Cidr {
  const text = formatIpv4(addr);
  return { addr, prefix, text, cidr: `${text}/${prefix}` };
}

/** Splits "addr/prefix"; `prefixRe` says how the prefix may be written. */
function splitCidr(text: string, prefixRe: RegExp): { addrText: string; prefix: number } | null {
  const slash = text.lastIndexOf('/');
  if (slash < 0) return null;
  const prefixText = text.slice(slash + 1);
  if (!prefixRe.test(prefixText)) return null;
  return { addrText: text.slice(0, slash), prefix: Number(prefixText) };
}

/** Parses "10.11.0.5/24" strictly (four decimal octets, no leading zeros); null if malformed. */
export function parseIpv4Cidr(text: string): Ipv4Cidr | null {
  const parts = splitCidr(text, /^(0|[1-9]\d?)$/);
  if (parts === null || parts.prefix > 32 || !untrimmed(parts.addrText)) return null;
  const addr = parseIpv4(parts.addrText);
  return addr === null ? null : ipv4Cidr(addr, parts.prefix);
}

export const checkIpv4: Check = (v) => {
  const example = 'must be an IPv4 address with a prefix length, like "10.11.0.5/24"';
  if (typeof v !== 'string') return example;
  const c = parseIpv4Cidr(v);
  if (c === null) return example;
  const range = ipaddr.IPv4.parse(c.text).range();
  if (range === 'unspecified' || range === 'multicast' || range === 'loopback' || range === 'broadcast') {
    return `must be a unicast host address (this one is ${range})`;
  }
  if (c.prefix <= 30) {
    const hostBits = 32 - c.prefix;
    const hostPart = c.addr % 2 ** hostBits;
    if (hostPart === 0) return `must be a host address, not the network address of its /${c.prefix} subnet`;
    if (hostPart === 2 ** hostBits - 1) return `must be a host address, not the broadcast address of its /${c.prefix} subnet`;
  }
  return null;
};

/** Default IPv4 of the compute host at `index`: 10.11.0.(index+1)/24; null beyond 254 hosts. */
export function defaultIpv4(index: number): Ipv4Cidr | null {
  const n = index + 1;
  if (n > LIMITS.maxDefaultIpv4Hosts) return null;
  return ipv4Cidr(((10 << 24) | (11 << 16) | n) >>> 0, 24);
}

// --- IPv6 --------------------------------------------------------------------------------------

function ipv6Cidr(bytes: Uint8Array, prefix: number): Ipv6Cidr {
  const text = formatIpv6(bytes);
  return { bytes, prefix, text, cidr: `${text}/${prefix}` };
}

/** Parses "fd00:e0::5/64"; null if malformed (zone ids are rejected). */
export function parseIpv6Cidr(text: string): Ipv6Cidr | null {
  const parts = splitCidr(text, /^\d{1,3}$/);
  if (parts === null || parts.prefix > 128 || !untrimmed(parts.addrText)) return null;
  const bytes = parseIpv6(parts.addrText);
  return bytes === null ? null : ipv6Cidr(bytes, parts.prefix);
}

export const checkIpv6: Check = (v) => {
  const example = 'must be an IPv6 address with a prefix length, like "fd00:e0::5/64"';
  if (typeof v !== 'string') return example;
  const c = parseIpv6Cidr(v);
  if (c === null) return example;
  const range = ipaddr.IPv6.parse(c.text).range();
  if (range === 'unspecified' || range === 'multicast' || range === 'loopback') {
    return `must be a unicast host address (this one is ${range})`;
  }
  return null;
};

/** Default IPv6 of the compute host at `index`: fd00:e0::(index+1)/64. */
export function defaultIpv6(index: number): Ipv6Cidr {
  return parseIpv6Cidr(`fd00:e0::${(index + 1).toString(16)}/64`)!;
}

/** A key under which equal IPv6 addresses collide, whatever text form the file used. */
export function ipv6Key(bytes: Uint8Array): string {
  return formatIpv6(bytes);
}
