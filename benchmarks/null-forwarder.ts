/**
 * The floor of bench:live's latency rows: a process that forwards frames between two TAPs with
 * EOP's TAP addon and does nothing else (no model, no copy, no vnet header). Whatever ping RTT it
 * gets is the least any Node.js process built on this addon can get on the machine, so eop up's
 * RTT minus this one is what the model and the bridge cost, and this one minus vde_switch's is what
 * Node.js and the addon cost before any frame is looked at.
 *
 *   node dist/benchmarks/null-forwarder.js TAP_A TAP_B
 *
 * Opens (creating) both TAPs, prints "ready" once it forwards, and closes them on SIGTERM/SIGINT.
 * Used by benchmarks/live.ts; needs root and /dev/net/tun.
 */
import { TapDevice } from '../bridge/tap-device.js';

function main(): void {
  const [nameA, nameB] = process.argv.slice(2);
  if (nameA === undefined || nameB === undefined) {
    process.stderr.write('usage: node dist/benchmarks/null-forwarder.js TAP_A TAP_B\n');
    process.exit(2);
  }
  const a = TapDevice.open(nameA);
  const b = TapDevice.open(nameB);
  // One N-API call per wake-up: the batch's frames go out as they were read (a full queue drops,
  // as a switch would; the drops are not counted: this process only measures).
  a.onFrames((batch) => void b.writeBatch(batch));
  b.onFrames((batch) => void a.writeBatch(batch));
  const stop = (): void => {
    a.close();
    b.close();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write('ready\n');
}

try {
  main();
} catch (e) {
  process.stderr.write(`null-forwarder: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
