/**
 * `eop attach`: connect to a rack served by `eop serve`, possibly on another machine.
 *
 *   eop attach --uplink ws://A:8080 ws://B:8081      join two racks' uplinks (an Ethernet cable)
 *   eop attach ws://A:8080/hosts/h4 --tap             a local namespace on rack A's host h4
 *
 * Prints `ready: ...` once connected, runs until SIGINT/SIGTERM or until a rack closes the
 * connection (exit 1 then, with the close code and reason), and cleans up what it made.
 * Exit codes: 0 stopped by a signal, 1 the connection failed or closed, 2 bad usage.
 */
import { rmSync } from 'node:fs';
import { Command } from 'commander';
import { TapAttachment, UplinkSplice, connectWs, type RemoteHost } from '../../bridge/ws-attach.js';
import { liveRackPreflight } from '../../bridge/live-rack.js';
import type { RackStatusJson } from '../../bridge/rack-status.js';
import { registerRack } from './rack-registry.js';
import { httpGet } from './status-command.js';

interface AttachFlags {
  uplink?: boolean;
  tap?: boolean;
  netns?: string;
  token?: string;
}

function uplinkUrl(u: string): string {
  const url = new URL(u);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/uplink';
  return url.toString();
}

function untilStopped(closed: Promise<string>, stop: () => void, what: string): Promise<number> {
  return new Promise((resolve) => {
    const STOP = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    const done = (code: number, msg: string): void => {
      for (const s of STOP) process.removeAllListeners(s);
      stop();
      process.stdout.write(`${msg}\n`);
      resolve(code);
    };
    for (const s of STOP) process.on(s, () => done(0, `stopped (${s}): ${what} detached`));
    void closed.then((why) => done(1, `eop attach: ${why}`));
  });
}

async function attachCommand(urls: string[], flags: AttachFlags): Promise<number> {
  const token = flags.token ?? process.env.EOP_TOKEN ?? null;
  const err = (s: string): number => {
    process.stderr.write(`eop attach: ${s}\n`);
    return 2;
  };
  for (const u of urls) if (!/^wss?:\/\//.test(u)) return err(`"${u}" is not a ws:// or wss:// URL`);
  if (flags.uplink) {
    if (urls.length !== 2 || flags.tap) return err('--uplink joins two racks: eop attach --uplink ws://A:PORT ws://B:PORT');
    let a, b;
    try {
      a = await connectWs(uplinkUrl(urls[0]!), { token });
      b = await connectWs(uplinkUrl(urls[1]!), { token });
    } catch (e) {
      a?.terminate();
      process.stderr.write(`eop attach: ${(e as Error).message}\n`);
      return 1;
    }
    const splice = new UplinkSplice(a, b);
    process.stdout.write(`ready: uplink ${uplinkUrl(urls[0]!)} <-> ${uplinkUrl(urls[1]!)} (pid ${process.pid})\n`);
    return untilStopped(splice.closed, () => splice.close(), 'uplink');
  }
  if (!flags.tap || urls.length !== 1) return err('give one ws://HOST:PORT/hosts/<name> URL with --tap, or --uplink with two rack URLs');
  const url = new URL(urls[0]!);
  const m = /^\/hosts\/([^/]+)\/?$/.exec(url.pathname);
  if (!m) return err(`${urls[0]} does not name a host: the path is /hosts/<name>`);
  const name = decodeURIComponent(m[1]!);
  const missing = liveRackPreflight();
  if (missing) return err(`--tap makes a TAP and a namespace, and ${missing}`);
  let host: RemoteHost | undefined;
  try {
    const statusUrl = `${url.protocol === 'wss:' ? 'https:' : 'http:'}//${url.host}`;
    const s = JSON.parse(await httpGet({ url: statusUrl }, '/api/status', token, 10_000)) as RackStatusJson;
    host = s.hosts.find((h) => h.name === name);
    if (!host) return err(`rack "${s.rack}" has no host ${name} (hosts: ${s.hosts.map((h) => h.name).join(', ')})`);
    if (host.attach !== 'websocket') return err(`${name} is attach: ${host.attach}, not a WebSocket host`);
  } catch (e) {
    process.stderr.write(`eop attach: cannot read the rack's status: ${(e as Error).message}\n`);
    return 1;
  }
  const ns = flags.netns ?? `eop-${name}`;
  let att: TapAttachment;
  try {
    att = await TapAttachment.open(urls[0]!, host, ns, `eop-${name}`.slice(0, 15), { token });
  } catch (e) {
    process.stderr.write(`eop attach: ${(e as Error).message}\n`);
    return 1;
  }
  // Recorded like a rack (locking nothing), so that `eop down` finds the namespace after a crash
  // whatever its name.
  const record = registerRack({ mode: 'attach', rack: `${name} of ${url.host}`, nsPrefix: null, namespaces: [ns], links: [att.tap.name], statusUrl: null, statusSocket: null });
  const forget = (): void => {
    if (record) rmSync(record, { force: true });
  };
  void att.closed.then(forget);
  process.on('exit', () => {
    att.close();
    forget();
  });
  process.stdout.write(`ready: namespace ${ns} is ${name} of ${url.host} (${host.mac} ${host.ipv4} ${host.ipv6} mtu ${host.mtu}); ip netns exec ${ns} <command> (pid ${process.pid})\n`);
  return untilStopped(att.closed, () => att.close(), `namespace ${ns}`);
}

export function registerAttach(program: Command): void {
  program
    .command('attach')
    .description("Connect to a served rack: join two racks' uplinks, or put a local namespace on a rack's WebSocket host.")
    .argument('<url...>', 'ws://HOST:PORT/hosts/<name> with --tap; two racks with --uplink, each ws://HOST:PORT (its first uplink host) or ws://HOST:PORT/uplink/<name>')
    .option('--uplink', 'join two racks by their uplinks (hosts with attach: uplink, or eop serve --uplink): an Ethernet cable between them')
    .option('--tap', 'make a local namespace with a TAP that is the remote host (needs root)')
    .option('--netns <name>', 'namespace name with --tap (default eop-<host>)')
    .option('--token <secret>', 'token of the racks (default $EOP_TOKEN)')
    .addHelpText(
      'after',
      '\nExamples:\n  eop attach --uplink ws://127.0.0.1:8080 ws://10.0.0.2:8080\n  sudo eop attach ws://10.0.0.2:8080/hosts/h4 --tap && sudo ip netns exec eop-h4 ping 10.11.0.1',
    )
    .action(async (urls: string[], flags: AttachFlags) => {
      process.exitCode = await attachCommand(urls, flags);
    });
}
