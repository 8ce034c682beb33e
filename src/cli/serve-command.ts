/**
 * `eop serve [rack]`: the rack live, like `eop up`, plus an HTTP + WebSocket server
 * (bridge/ws-server.ts): WebSocket hosts at ws://HOST:PORT/hosts/<name>, an uplink at /uplink, the
 * status at /api/status and the page at /. Without a rack file: the default rack with h4 as a
 * WebSocket host and h1..h3 on the built-in stack. Needs root only if the rack has TAP hosts.
 * `--uplink` gives a rack without an `attach: uplink` host one named "up" (or "up2"... if taken).
 *
 * Prints one line per host, then `ready: <url> ...` (scripts wait for it). Stops on SIGINT/SIGTERM.
 * Exit codes: 0 stopped, 1 unexpected failure, 2 bad usage or missing prerequisites.
 */
import { readFileSync, rmSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { LiveRack, liveRackPreflight } from '../../bridge/live-rack.js';
import { RackStatusSampler } from '../../bridge/rack-status.js';
import { MIN_PROBE_WAIT_MS } from '../../bridge/ws-holder-probe.js';
import { DEFAULT_RECLAIM_WAIT_MS, findStaticDir, RackServer } from '../../bridge/ws-server.js';
import { liveFaultEndpoint } from '../../bridge/fault-endpoint.js';
import { EopError, ErrorCode } from '../errors.js';
import { formatLogRecord } from '../log.js';
import { DEFAULT_RACK_SOURCE, DEFAULT_RACK_YAML } from '../topology/default-rack.js';
import { parseTopologyText } from '../topology/load.js';
import type { Topology } from '../topology/schema.js';
import { rackConflict, registerRack } from './rack-registry.js';
import { nsPrefixArg, snaplenArg, SNAPLEN_HELP } from './input-options.js';

export interface ServeFlags {
  host: string;
  port: number;
  token?: string;
  allowOrigin: string[];
  uplink?: boolean;
  captures: boolean;
  captureDir?: string;
  captureSnaplen?: number;
  nsPrefix: string;
  keepaliveS: number;
  reclaimWaitMs: number;
  clientQueueKib: number;
  clientRateFps: number;
  lagToleranceMs?: number;
  logLevel?: string;
}

function portArg(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 0 || n > 65535) throw new InvalidArgumentError(`must be a TCP port 0..65535 (got "${v}")`);
  return n;
}

function secondsArg(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new InvalidArgumentError(`must be seconds above 0, at most 3600 (got "${v}")`);
  return n;
}

function intArg(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max} (got "${v}")`);
    return n;
  };
}

function msArg(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`must be a number of milliseconds above 0 (got "${v}")`);
  return n;
}

/** The rack to serve: the file, or the default rack with h4 on a WebSocket; plus an uplink if asked. */
export function topologyForServe(path: string | undefined, uplink: boolean): Topology {
  let doc: Record<string, unknown>;
  let source: string;
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new EopError(ErrorCode.CONFIG_UNREADABLE, `cannot read ${path}: ${(e as Error).message}`);
    }
    if (!uplink) return parseTopologyText(text, path, /\.json$/i.test(path) ? 'json' : 'yaml');
    doc = parseYaml(text) as Record<string, unknown>;
    source = path;
  } else {
    doc = parseYaml(DEFAULT_RACK_YAML) as Record<string, unknown>;
    doc.traffic = [];
    doc.hosts = (doc.hosts as unknown[]).map((h) => (typeof h === 'object' && h !== null && (h as { name?: string }).name === 'h4' ? { ...h, attach: 'websocket' } : h));
    source = DEFAULT_RACK_SOURCE;
  }
  if (uplink && Array.isArray(doc.hosts) && !doc.hosts.some((h) => typeof h === 'object' && h !== null && (h as { attach?: string }).attach === 'uplink')) {
    // "up", or "up2", "up3"... if the rack already has a host of that name.
    const taken = new Set(doc.hosts.map((h) => (typeof h === 'string' ? h : typeof h === 'object' && h !== null ? (h as { name?: unknown }).name : undefined)));
    let name = 'up';
    for (let i = 2; taken.has(name); i++) name = `up${i}`;
    doc.hosts = [...doc.hosts, { name, attach: 'uplink' }];
  }
  return parseTopologyText(stringifyYaml(doc), source, 'yaml');
}

async function serveCommand(path: string | undefined, flags: ServeFlags): Promise<number> {
  const err = (s: string): void => void process.stderr.write(s + '\n');
  const out = (s: string): void => void process.stdout.write(s + '\n');
  const topo = topologyForServe(path, flags.uplink ?? false);
  const taps = topo.hosts.filter((h) => h.attach === 'tap');
  if (taps.length > 0) {
    const missing = liveRackPreflight();
    if (missing) {
      err(`eop serve: rack "${topo.name}" has TAP hosts (${taps.map((h) => h.name).join(', ')}), and eop ${missing}`);
      return 2;
    }
  }
  // Only namespaces and TAP names can collide between racks on one machine; a rack without TAP
  // hosts shares nothing but its port, so any number of them may run.
  const conflict = taps.length > 0 ? rackConflict(topo.name, flags.nsPrefix) : null;
  if (conflict) {
    err(`eop serve: ${conflict}`);
    return 2;
  }
  const token = flags.token ?? process.env.EOP_TOKEN ?? null;
  const live = new LiveRack(topo, {
    websocket: true,
    nsPrefix: flags.nsPrefix,
    captures: flags.captures && topo.captures.enabled,
    ...(flags.captureDir ? { captureDir: flags.captureDir } : {}),
    ...(flags.captureSnaplen !== undefined ? { snaplenBytes: flags.captureSnaplen } : {}),
    ...(flags.lagToleranceMs ? { lagToleranceNs: flags.lagToleranceMs * 1e6 } : {}),
    onTapFailure: (msg) => err(`eop serve: ${msg}; the rest of the rack keeps running`),
    wsHostLimits: { queueBytes: flags.clientQueueKib * 1024, rateFramesPerS: flags.clientRateFps },
  });
  live.rack.log.setSink((r) => err(formatLogRecord(r)), (flags.logLevel ?? 'warn') as 'warn');
  const sampler = new RackStatusSampler(live, 'serve', flags.lagToleranceMs ?? 1);
  const server = new RackServer({
    host: flags.host,
    port: flags.port,
    token,
    allowOrigins: flags.allowOrigin,
    keepaliveMs: flags.keepaliveS * 1000,
    reclaimWaitMs: flags.reclaimWaitMs,
    status: () => sampler.snapshot(),
    faults: liveFaultEndpoint(live),
    ports: live.wsPorts,
    staticDir: findStaticDir(),
  });
  let url: string;
  try {
    url = await server.listen();
  } catch (e) {
    live.stop();
    if (e instanceof EopError) {
      err(`eop serve: ${e.message}`);
      return 2;
    }
    err(`eop serve: cannot listen on ${flags.host}:${flags.port}: ${(e as Error).message}`);
    return 2;
  }
  const record = registerRack({
    mode: 'serve',
    rack: topo.name,
    nsPrefix: taps.length > 0 ? flags.nsPrefix : null,
    namespaces: live.tapHosts.map((t) => t.ns),
    links: live.tapHosts.map((t) => t.cfg.ifName),
    statusUrl: url,
    statusSocket: null,
  });
  for (const n of live.notes) err(`note: ${n}`);
  const wsUrl = url.replace(/^http/, 'ws');
  for (const h of topo.hosts) {
    const th = live.tapHosts.find((t) => t.cfg.name === h.name);
    const addr = `${h.mac.text} ${h.ipv4.cidr} ${h.ipv6.cidr} mtu ${h.mtu}`;
    if (th) out(`${h.name}: namespace ${th.ns}, ${h.ifName} ${addr}`);
    else if (h.attach === 'websocket') out(`${h.name}: WebSocket host ${wsUrl}/hosts/${h.name} (built-in stack while no client holds it; DHCP gives ${h.ipv4.cidr}), ${addr}`);
    else if (h.attach === 'uplink') out(`${h.name}: uplink ${wsUrl}/uplink (connect another rack with eop attach --uplink)`);
    else out(`${h.name}: built-in stack, ${addr}`);
  }
  out(live.captures ? `captures (wall-clock timestamps): ${live.capturePaths.join(', ')}` : 'captures: off');
  return new Promise<number>((resolve) => {
    const STOP = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    let stopping = false;
    const finish = async (sig: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      sampler.stop();
      await server.close();
      live.stop();
      if (record) rmSync(record, { force: true });
      out(`stopped (${sig})`);
      for (const s of STOP) process.removeAllListeners(s);
      resolve(0);
    };
    for (const s of STOP) process.on(s, () => void finish(s));
    process.on('exit', () => {
      live.stop();
      if (record) rmSync(record, { force: true });
    });
    live.start();
    sampler.start();
    out(`ready: ${url} rack "${topo.name}" live; page ${url}/, status ${url}/api/status${token ? ' (token required)' : ''}; stop with Ctrl-C (pid ${process.pid})`);
  });
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run a rack live and serve it: WebSocket hosts (ws://HOST:PORT/hosts/<name>), uplinks to other racks, /api/status and a live page at /.')
    .argument('[topology]', 'rack file (YAML or JSON); default: the embedded rack with h4 as a WebSocket host, h1..h3 built-in')
    .option('--host <address>', 'address to bind (anything but loopback needs a token)', '127.0.0.1')
    .option('--port <port>', 'TCP port (0: any free one)', portArg, 8080)
    .option('--token <secret>', 'every request must present it (Authorization: Bearer, or ?token=); default $EOP_TOKEN')
    .option('--allow-origin <origin>', 'also accept browsers from this origin (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--uplink', 'accept another rack at /uplink (adds a host "up" with attach: uplink, an Ethernet port to another rack, if the rack declares none)')
    .option('--ns-prefix <prefix>', 'namespace prefix of TAP hosts (one running rack per prefix)', nsPrefixArg, 'eop-')
    .option('--keepalive-s <s>', 'ping every client this often; a client silent for two pings is dropped and its host freed', secondsArg, 10)
    .option('--reclaim-wait-ms <ms>', `when a client claims a held host, its holder must answer a ping within this; if not, it is evicted and the claim succeeds`, intArg(MIN_PROBE_WAIT_MS, 60_000), DEFAULT_RECLAIM_WAIT_MS)
    .option('--client-queue-kib <KiB>', 'unsent data a WebSocket client may have before frames for it are dropped', intArg(16, 1 << 20), 1024)
    .option('--client-rate-fps <frames/s>', 'frames per second a WebSocket client may send (more are dropped and counted)', intArg(1, 10_000_000), 200_000)
    .option('--no-captures', 'do not write capture files')
    .option('--capture-dir <dir>', "write captures here instead of the topology's captures.dir")
    .option('--capture-snaplen <bytes|headers>', SNAPLEN_HELP, snaplenArg)
    .option('--lag-tolerance-ms <ms>', 'event lateness counted as "emulator slower than the model" (default 1)', msArg)
    .addOption(new Option('--log-level <level>', 'log detail on stderr').choices(['error', 'warn', 'info', 'debug']).default('warn'))
    .addHelpText(
      'after',
      '\nExamples:\n  eop serve                                  # default rack; open http://127.0.0.1:8080/\n' +
        '  eop serve rack.yaml --port 8081 --uplink\n  EOP_TOKEN=s3cret eop serve --host 0.0.0.0   # reachable from other machines\n' +
        '\nA WebSocket client sends and receives one Ethernet frame per binary message (no header, no FCS),\n' +
        'brings its own MAC, and gets its address by DHCP (DNS answers the rack\'s host names).\n' +
        '\nHolding a host: one client at a time. A client that closes frees its host at once. A claim of a\n' +
        'held host pings the holder: if it answers within --reclaim-wait-ms (2000), the claim is refused\n' +
        '(close code 4409, reason: who holds it since when); if not (a client reconnecting while its old\n' +
        'connection lingers half-open), the old connection is evicted (close code 4408, "evicted: ...")\n' +
        'and the new one gets the host back, with its learned MAC. A holder that stops answering the\n' +
        'keepalive pings loses its host within 2 x --keepalive-s even if nobody claims it.',
    )
    .action(async (path: string | undefined, flags: ServeFlags) => {
      process.exitCode = await serveCommand(path, flags);
    });
}
