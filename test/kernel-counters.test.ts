/**
 * Parsing of the kernel-side loss counters read inside a namespace (bridge/kernel-counters.ts): the
 * TAP's TX/RX dropped from /proc/net/dev and UDP receive errors, IPv4 and IPv6 added up; a TAP that
 * is not listed is "unreadable" (null).
 */
import { describe, expect, it } from 'vitest';
import { parseKernelCounters, parseNetDevDrops } from '../bridge/kernel-counters.js';

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     120       2    0    0    0     0          0         0      120       2    0    0    0     0       0          0
eop-h1: 9051020    6001    0    2    0     0          0         0 88441231   60200    0 3454    0     0       0          0
`;
const SNMP = `Ip: Forwarding DefaultTTL InReceives
Ip: 2 64 10
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 6233 0 880 10562 876 0 4 0 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
UdpLite: 0 0 99 0 99 0 0 0 0
`;
const SNMP6 = `Udp6InDatagrams                 	12
Udp6InErrors                    	7
Udp6RcvbufErrors                	5
UdpLite6RcvbufErrors            	99
`;

describe('parseKernelCounters', () => {
  it('reads the TAP\'s RX/TX drop columns and sums UDP (v4 + v6) receive-buffer and input errors, UDP-Lite left out', () => {
    expect(parseKernelCounters(NET_DEV, SNMP, SNMP6, 'eop-h1')).toEqual({ tapTxDropped: 3454, tapRxDropped: 2, udpRcvbufErrors: 881, udpInErrors: 887 });
  });

  it('without the snmp files the UDP counts are 0; a device not listed (or a mangled line) is unreadable (null)', () => {
    expect(parseKernelCounters(NET_DEV, '', '', 'lo')).toEqual({ tapTxDropped: 0, tapRxDropped: 0, udpRcvbufErrors: 0, udpInErrors: 0 });
    expect(parseKernelCounters(NET_DEV, SNMP, SNMP6, 'eop-h2')).toBeNull();
    expect(parseKernelCounters('', SNMP, SNMP6, 'eop-h1')).toBeNull();
    expect(parseNetDevDrops('eop-h1: 1 2 3\n', 'eop-h1')).toBeNull();
    expect(parseNetDevDrops('eop-h1: 1 2 3 -4 5 6 7 8 9 10 11 12 13 14 15 16\n', 'eop-h1')).toBeNull();
    // A name that only starts like the device is another device.
    expect(parseNetDevDrops(NET_DEV.replace('eop-h1:', 'eop-h10:'), 'eop-h1')).toBeNull();
  });
});
