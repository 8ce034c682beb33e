// A tiny IPv4 guest for a WebSocket host: what a browser VM's network stack does, in plain JS.
// One binary WebSocket message = one Ethernet frame (no header, no FCS). It brings its own MAC,
// gets its address by DHCP, answers ARP and ping, resolves names by DNS, and pings.
// Used by the page (app.js) and, unchanged, by the tests: an implementation separate from the
// server's (src/wire), so each checks the other. No dependencies; runs in browsers and Node >= 20.

const BCAST = [255, 255, 255, 255, 255, 255];

function csum(bytes, start, end, initial = 0) {
  let s = initial;
  for (let i = start; i + 1 < end; i += 2) s += (bytes[i] << 8) | bytes[i + 1];
  if ((end - start) & 1) s += bytes[end - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export function ipToString(ip) {
  return ip.join('.');
}

export function parseIp(s) {
  const p = s.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`not an IPv4 address: ${s}`);
  return p;
}

export function macToString(m) {
  return m.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A random locally administered unicast MAC (02:…), as a VM would have. */
export function randomMac() {
  const m = [0x02, 0x5e];
  for (let i = 0; i < 4; i++) m.push(Math.floor(Math.random() * 256));
  return m;
}

const eq = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

export class Guest {
  /**
   * @param {WebSocket} ws an open (or opening) WebSocket to /hosts/<name>, binaryType set here
   * @param {number[]} mac our MAC, 6 bytes
   */
  constructor(ws, mac = randomMac()) {
    this.ws = ws;
    this.mac = mac;
    this.ip = null;
    this.prefix = null;
    this.dns = null;
    this.arp = new Map(); // "a.b.c.d" → mac
    this.waiters = [];
    this.counters = { rx: 0, tx: 0, arpAnswered: 0, pingsAnswered: 0 };
    this.onframe = null;
    ws.binaryType = 'arraybuffer';
    ws.addEventListener('message', (ev) => {
      if (typeof ev.data === 'string') return;
      this.receive(new Uint8Array(ev.data));
    });
  }

  send(frame) {
    this.counters.tx++;
    this.ws.send(frame);
  }

  /** Resolves with the first received frame that `match` accepts (returns non-undefined), or rejects after ms. */
  waitFor(match, ms, what) {
    return new Promise((resolve, reject) => {
      const w = {
        match,
        resolve,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(new Error(`timeout after ${ms} ms waiting for ${what}`));
        }, ms),
      };
      this.waiters.push(w);
    });
  }

  receive(f) {
    this.counters.rx++;
    if (this.onframe) this.onframe(f);
    if (f.length < 14) return;
    const type = (f[12] << 8) | f[13];
    if (type === 0x0806) this.onArp(f);
    else if (type === 0x0800) this.onIpv4(f);
    for (const w of [...this.waiters]) {
      const r = w.match(f);
      if (r !== undefined) {
        clearTimeout(w.timer);
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(r);
      }
    }
  }

  eth(dst, type, payloadLen) {
    const f = new Uint8Array(Math.max(60, 14 + payloadLen));
    f.set(dst, 0);
    f.set(this.mac, 6);
    f[12] = type >> 8;
    f[13] = type & 255;
    return f;
  }

  arpFrame(op, dstMac, targetMac, targetIp) {
    const f = this.eth(dstMac, 0x0806, 28);
    f.set([0, 1, 8, 0, 6, 4, 0, op], 14);
    f.set(this.mac, 22);
    f.set(this.ip ?? [0, 0, 0, 0], 28);
    f.set(targetMac, 32);
    f.set(targetIp, 38);
    return f;
  }

  onArp(f) {
    const op = f[21];
    const senderMac = [...f.subarray(22, 28)];
    const senderIp = [...f.subarray(28, 32)];
    const targetIp = [...f.subarray(38, 42)];
    if (!eq(senderIp, [0, 0, 0, 0])) this.arp.set(ipToString(senderIp), senderMac);
    if (op === 1 && this.ip && eq(targetIp, this.ip)) {
      this.counters.arpAnswered++;
      this.send(this.arpFrame(2, senderMac, senderMac, senderIp));
    }
  }

  ipv4(dstMac, dstIp, proto, payload, srcIp = this.ip ?? [0, 0, 0, 0]) {
    const f = this.eth(dstMac, 0x0800, 20 + payload.length);
    const h = 14;
    const total = 20 + payload.length;
    f.set([0x45, 0, total >> 8, total & 255, 0, 0, 0x40, 0, 64, proto, 0, 0], h);
    f.set(srcIp, h + 12);
    f.set(dstIp, h + 16);
    const c = csum(f, h, h + 20);
    f[h + 10] = c >> 8;
    f[h + 11] = c & 255;
    f.set(payload, h + 20);
    return f;
  }

  udp(dstMac, dstIp, srcPort, dstPort, data, srcIp) {
    const u = new Uint8Array(8 + data.length);
    u.set([srcPort >> 8, srcPort & 255, dstPort >> 8, dstPort & 255, u.length >> 8, u.length & 255, 0, 0]);
    u.set(data, 8);
    const src = srcIp ?? this.ip ?? [0, 0, 0, 0];
    const pseudo = new Uint8Array([...src, ...dstIp, 0, 17, u.length >> 8, u.length & 255]);
    let s = 0;
    for (let i = 0; i < 12; i += 2) s += (pseudo[i] << 8) | pseudo[i + 1];
    const c = csum(u, 0, u.length, s) || 0xffff;
    u[6] = c >> 8;
    u[7] = c & 255;
    return this.ipv4(dstMac, dstIp, 17, u, src);
  }

  onIpv4(f) {
    const ihl = (f[14] & 15) * 4;
    const proto = f[23];
    const src = [...f.subarray(26, 30)];
    const dst = [...f.subarray(30, 34)];
    const total = (f[16] << 8) | f[17];
    if (proto === 1 && this.ip && eq(dst, this.ip) && f[14 + ihl] === 8) {
      // Echo request: answer with the same id, sequence and data.
      const icmp = f.slice(14 + ihl, 14 + total);
      icmp[0] = 0;
      icmp[2] = 0;
      icmp[3] = 0;
      const c = csum(icmp, 0, icmp.length);
      icmp[2] = c >> 8;
      icmp[3] = c & 255;
      this.counters.pingsAnswered++;
      this.send(this.ipv4([...f.subarray(6, 12)], src, 1, icmp));
    }
  }

  dhcpMessage(type, xid, extra = []) {
    const m = new Uint8Array(240 + 3 + extra.length + 1);
    m.set([1, 1, 6, 0, xid >>> 24, (xid >>> 16) & 255, (xid >>> 8) & 255, xid & 255, 0, 0, 0x80, 0]);
    m.set(this.mac, 28);
    m.set([0x63, 0x82, 0x53, 0x63], 236);
    m.set([53, 1, type, ...extra, 255], 240);
    return m;
  }

  parseDhcp(f) {
    if (f.length < 14 + 20 + 8 + 240 || ((f[12] << 8) | f[13]) !== 0x0800 || f[23] !== 17) return undefined;
    const ihl = (f[14] & 15) * 4;
    const u = 14 + ihl;
    if (((f[u + 2] << 8) | f[u + 3]) !== 68) return undefined;
    const m = f.subarray(u + 8);
    if (m[0] !== 2 || !eq([...m.subarray(28, 34)], this.mac)) return undefined;
    const r = { yiaddr: [...m.subarray(16, 20)], type: 0, mask: null, dns: null, server: null };
    for (let o = 240; o < m.length && m[o] !== 255; ) {
      if (m[o] === 0) {
        o++;
        continue;
      }
      const code = m[o];
      const len = m[o + 1];
      const v = [...m.subarray(o + 2, o + 2 + len)];
      if (code === 53) r.type = v[0];
      if (code === 1) r.mask = v;
      if (code === 6) r.dns = v.slice(0, 4);
      if (code === 54) r.server = v;
      o += 2 + len;
    }
    return r;
  }

  /** DISCOVER → OFFER → REQUEST → ACK; sets ip, prefix and dns. */
  async dhcp(timeoutMs = 3000) {
    const xid = Math.floor(Math.random() * 2 ** 32) >>> 0;
    const bcastIp = [255, 255, 255, 255];
    this.send(this.udp(BCAST, bcastIp, 68, 67, this.dhcpMessage(1, xid), [0, 0, 0, 0]));
    const offer = await this.waitFor((f) => {
      const r = this.parseDhcp(f);
      return r && r.type === 2 ? r : undefined;
    }, timeoutMs, 'a DHCP offer');
    this.send(this.udp(BCAST, bcastIp, 68, 67, this.dhcpMessage(3, xid, [50, 4, ...offer.yiaddr, 54, 4, ...offer.server]), [0, 0, 0, 0]));
    const ack = await this.waitFor((f) => {
      const r = this.parseDhcp(f);
      return r && (r.type === 5 || r.type === 6) ? r : undefined;
    }, timeoutMs, 'a DHCP ack');
    if (ack.type !== 5) throw new Error('DHCP: the server refused (NAK)');
    this.ip = ack.yiaddr;
    this.prefix = ack.mask ? ack.mask.reduce((n, b) => n + [...b.toString(2)].filter((c) => c === '1').length, 0) : 32;
    this.dns = ack.dns;
    return { ip: ipToString(this.ip), prefix: this.prefix, dns: this.dns && ipToString(this.dns) };
  }

  /** The MAC of `ip` (ARP request, cached). */
  async resolveMac(ip, timeoutMs = 2000) {
    const key = ipToString(ip);
    if (this.arp.has(key)) return this.arp.get(key);
    this.send(this.arpFrame(1, BCAST, [0, 0, 0, 0, 0, 0], ip));
    return this.waitFor((f) => {
      if (((f[12] << 8) | f[13]) !== 0x0806 || f[21] !== 2) return undefined;
      return eq([...f.subarray(28, 32)], ip) ? [...f.subarray(22, 28)] : undefined;
    }, timeoutMs, `an ARP reply from ${key}`);
  }

  /** One echo request; resolves with the RTT in ms. */
  async ping(ip, seq, timeoutMs = 2000, dataBytes = 56) {
    const mac = await this.resolveMac(ip, timeoutMs);
    const id = 0x4e50;
    const icmp = new Uint8Array(8 + dataBytes);
    icmp.set([8, 0, 0, 0, id >> 8, id & 255, seq >> 8, seq & 255]);
    for (let i = 0; i < dataBytes; i++) icmp[8 + i] = (seq + i) & 255;
    const c = csum(icmp, 0, icmp.length);
    icmp[2] = c >> 8;
    icmp[3] = c & 255;
    const t0 = performance.now();
    const reply = this.waitFor((f) => {
      if (((f[12] << 8) | f[13]) !== 0x0800 || f[23] !== 1) return undefined;
      const o = 14 + (f[14] & 15) * 4;
      if (f[o] !== 0 || ((f[o + 4] << 8) | f[o + 5]) !== id || ((f[o + 6] << 8) | f[o + 7]) !== seq) return undefined;
      if (!eq([...f.subarray(26, 30)], ip)) return undefined;
      for (let i = 0; i < dataBytes; i++) if (f[o + 8 + i] !== ((seq + i) & 255)) return undefined;
      return performance.now() - t0;
    }, timeoutMs, `echo reply ${seq} from ${ipToString(ip)}`);
    this.send(this.ipv4(mac, ip, 1, icmp));
    return reply;
  }

  /** A record of `name` from the DHCP-given name server. */
  async lookup(name, timeoutMs = 2000) {
    if (!this.dns) throw new Error('no name server (run dhcp() first)');
    const mac = await this.resolveMac(this.dns, timeoutMs);
    const id = Math.floor(Math.random() * 65536);
    const q = [id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for (const label of name.split('.')) q.push(label.length, ...[...label].map((c) => c.charCodeAt(0)));
    q.push(0, 0, 1, 0, 1);
    const port = 40000 + Math.floor(Math.random() * 20000);
    const answer = this.waitFor((f) => {
      if (((f[12] << 8) | f[13]) !== 0x0800 || f[23] !== 17) return undefined;
      const u = 14 + (f[14] & 15) * 4;
      if (((f[u] << 8) | f[u + 1]) !== 53 || ((f[u + 2] << 8) | f[u + 3]) !== port) return undefined;
      const m = f.subarray(u + 8);
      if (((m[0] << 8) | m[1]) !== id) return undefined;
      const rcode = m[3] & 15;
      const an = (m[6] << 8) | m[7];
      if (rcode !== 0 || an === 0) return null;
      // Skip the question, then read the first answer's address.
      let o = 12;
      while (m[o] !== 0) o += m[o] + 1;
      o += 5;
      o += 2 + 10; // compressed name + type, class, ttl, rdlength
      return [...m.subarray(o, o + 4)];
    }, timeoutMs, `a DNS answer for ${name}`);
    this.send(this.udp(mac, this.dns, port, 53, new Uint8Array(q)));
    return answer;
  }
}
