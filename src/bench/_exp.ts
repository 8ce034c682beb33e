import { DEFAULT_EOP } from '../eop/eop-nic.js';
import { DEFAULT_LINK, effectiveWriteGbps } from '../pcie/link.js';
import { Rack, rackSpec, type HostSpec } from '../topology/rack.js';
const MAC1 = 0x02e000000001, MAC2 = 0x02e000000002;
function run(frameBytes: number, align: number, frames: number, gen: any, width: any) {
  const hosts: HostSpec[] = [{ name: 'mh', mac: 0, management: true }, { name: 'h1', mac: MAC1 }, { name: 'h2', mac: MAC2 }];
  const rack = new Rack(rackSpec(hosts, { eop: { ...DEFAULT_EOP, mtu: 65510 }, link: { ...DEFAULT_LINK, gen, width } }));
  rack.boot();
  const h1 = rack.nic('h1'), h2 = rack.nic('h2');
  const hello = new Uint8Array(60); hello.set([2, 0xe0, 0, 0, 0, 1, 2, 0xe0, 0, 0, 0, 2, 0x88, 0xb5]);
  h2.transmit(hello); rack.sched.run();
  const f = new Uint8Array(frameBytes); f.set([2, 0xe0, 0, 0, 0, 2, 2, 0xe0, 0, 0, 0, 1, 0x88, 0xb5]);
  let rx = 0, firstRx = -1, lastRx = 0;
  h2.setReceiver(() => { rx++; if (firstRx < 0) firstRx = rack.sched.now; lastRx = rack.sched.now; });
  let sent = 0;
  const pump = (): void => { let room = h1.txSpace(MAC2); while (room-- > 0 && sent < frames) if (h1.transmit(f, { alignOffset: align })) sent++; if (sent < frames) h1.onTxDrained(pump); };
  pump();
  const w0 = performance.now(); rack.sched.run(); const wall = performance.now() - w0;
  console.log(gen, width, frameBytes, align, 'rx', rx, 'gbps', (((rx - 1) * frameBytes * 8) / (lastRx - firstRx)).toFixed(2), 'limit', effectiveWriteGbps({ ...DEFAULT_LINK, gen, width }).toFixed(2), 'wall', wall.toFixed(0));
}
for (const sz of [1078, 2102, 4150, 8246, 16438, 32822, 65528]) { run(sz, 0, 2000, 2, 8); run(sz, 8, 2000, 2, 8); }
run(65528, 0, 2000, 5, 16);
