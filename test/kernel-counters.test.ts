/**
 * Parsing of the kernel-side loss counters read inside a namespace (bridge/kernel-counters.ts): the
 * TAP's TX/RX dropped and UDP receive errors, IPv4 and IPv6 added up; anything else is "unreadable".
 */
import { describe, expect, it } from 'vitest';
import { parseKernelCounters } from '../bridge/kernel-counters.js';

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
  it('reads TAP TX/RX dropped and sums UDP (v4 + v6) receive-buffer and input errors, UDP-Lite left out', () => {
    expect(parseKernelCounters(`3454\n2\n${SNMP}${SNMP6}`)).toEqual({ tapTxDropped: 3454, tapRxDropped: 2, udpRcvbufErrors: 881, udpInErrors: 887 });
  });

  it('without the snmp files the UDP counts are 0; without the TAP counters it is unreadable (null)', () => {
    expect(parseKernelCounters('5\n0\n')).toEqual({ tapTxDropped: 5, tapRxDropped: 0, udpRcvbufErrors: 0, udpInErrors: 0 });
    expect(parseKernelCounters('')).toBeNull();
    expect(parseKernelCounters('cat: /sys/class/net/x/statistics/tx_dropped: No such file\n')).toBeNull();
    expect(parseKernelCounters('-1\n0\n')).toBeNull();
  });
});
