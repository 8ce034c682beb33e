import { Rack, rackSpec } from '../src/topology/rack.js';
import { DEFAULT_EOP } from '../src/eop/eop-nic.js';
const len0 = Number(process.argv[2] ?? 1514);
const rack = new Rack(rackSpec([
  { name: 'mh', mac: 0, management: true },
  { name: 'h1', mac: 0x02e000000001 },
  { name: 'h2', mac: 0x02e000000002 },
], { eop: { ...DEFAULT_EOP, mtu: len0 > 1518 ? 65510 : 1500 } }));
rack.boot();
const len = Number(process.argv[2] ?? 1514);
const f = new Uint8Array(len);
f.set([2,0xe0,0,0,0,2, 2,0xe0,0,0,0,1, 0x88,0xb5]);
let rx = 0;
rack.nic('h2').setReceiver(() => { rx++; });
const h1 = rack.nic('h1');
// teach h1 where h2 is
rack.nic('h2').transmit(new Uint8Array([2,0xe0,0,0,0,1, 2,0xe0,0,0,0,2, 0x88,0xb5, 0,0]));
rack.sched.run();
const N = Number(process.argv[3] ?? 300000);
let sent = 0;
const t0v = rack.sched.now;
const dst = 0x02e000000002;
function pump() {
  let room = h1.txSpace(dst);
  while (room-- > 0 && sent < N) { if (h1.transmit(f)) sent++; }
  if (sent < N) h1.onTxDrained(pump);
}
pump();
const w0 = performance.now();
rack.sched.run();
const w1 = performance.now();
const vt = rack.sched.now - t0v;
console.log({ len, sent, rx, wallMs: (w1-w0).toFixed(0), framesPerWallSec: (rx/((w1-w0)/1000)).toFixed(0), modeledGbps: (rx*len*8/vt).toFixed(2), events: rack.sched.executed, drops: h1.drops.toJSON() });
