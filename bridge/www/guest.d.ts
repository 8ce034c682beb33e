// Types of guest.js (plain JS, served to browsers as is) for the TypeScript tests and benches.
export function ipToString(ip: number[]): string;
export function parseIp(s: string): number[];
export function macToString(m: number[]): string;
export function randomMac(): number[];

export interface WebSocketLike {
  binaryType: string;
  send(data: Uint8Array): void;
  addEventListener(type: 'message', fn: (ev: { data: unknown }) => void): void;
}

export class Guest {
  constructor(ws: WebSocketLike, mac?: number[]);
  mac: number[];
  ip: number[] | null;
  prefix: number | null;
  dns: number[] | null;
  counters: { rx: number; tx: number; arpAnswered: number; pingsAnswered: number };
  onframe: ((f: Uint8Array) => void) | null;
  send(frame: Uint8Array): void;
  receive(f: Uint8Array): void;
  waitFor<T>(match: (f: Uint8Array) => T | undefined, ms: number, what: string): Promise<T>;
  arpFrame(op: number, dstMac: number[], targetMac: number[], targetIp: number[]): Uint8Array;
  ipv4(dstMac: number[], dstIp: number[], proto: number, payload: Uint8Array, srcIp?: number[]): Uint8Array;
  udp(dstMac: number[], dstIp: number[], srcPort: number, dstPort: number, data: Uint8Array, srcIp?: number[]): Uint8Array;
  dhcpMessage(type: number, xid: number, extra?: number[]): Uint8Array;
  dhcp(timeoutMs?: number): Promise<{ ip: string; prefix: number; dns: string | null }>;
  resolveMac(ip: number[], timeoutMs?: number): Promise<number[]>;
  ping(ip: number[], seq: number, timeoutMs?: number, dataBytes?: number): Promise<number>;
  lookup(name: string, timeoutMs?: number): Promise<number[] | null>;
}
