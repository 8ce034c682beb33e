/**
 * `eop up`, `eop down`, `eop exec`: the rack in live mode with real sockets (see bridge/live-rack.ts).
 *
 * - `eop up [topology]`: one network namespace per TAP-attached host (`eop-<host>`), the fabric in
 *   live mode until a terminating signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR2, … see
 *   src/signals.ts), then every namespace and TAP it made is removed (with the processes still in
 *   them). Without a topology: the default rack with all four compute hosts on TAPs. The file's
 *   `traffic:` runs on its built-in hosts. Prints one line per host, where captures go, then a line
 *   starting with "ready" (scripts wait for it). `--stats [s]` prints the status view every s
 *   seconds; SIGUSR1 prints it once (after reading the kernel's loss counters in each namespace).
 *   Falling behind the model is said on stderr when it starts and when it ends. Writes its pid and namespaces to
 *   /run/eop/up-<pid>.json so `eop down` can tell a running instance from a crashed one.
 * - `eop down` (down-command.ts): removes what crashed racks left behind, whatever their prefix.
 * - `eop exec <host> -- <command...>`: runs a command inside `eop-<host>`, passes the signals it gets on
 *   to it and exits with its status (128 + n if a signal ended it). Host names resolve there (`ping h2`:
 *   /etc/netns/<ns>/hosts). Whatever it leaves running ends when the rack stops or `eop down` runs.
 *
 * Exit codes: 0 stopped cleanly (a TAP that failed while running is reported, and the rest of the
 * rack went on), 1 an unexpected failure, 2 bad usage or missing prerequisites (not root, no
 * /dev/net/tun, addon not built), with one sentence saying what is missing.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { LagAnnouncer } from '../../bridge/lag-announcer.js';
import { DEFAULT_BUSY_POLL_MS, formatLiveStatus, LiveRack, liveRackPreflight } from '../../bridge/live-rack.js';
import { RackStatusSampler } from '../../bridge/rack-status.js';
import { liveFaultEndpoint } from '../../bridge/fault-endpoint.js';
import { RackServer } from '../../bridge/ws-server.js';
import { rackConflict, registerRack, statusSocketPath } from './rack-registry.js';
import { registerDown } from './down-command.js';
import { listEopNetns, netnsExists, validateNetnsName } from '../../bridge/netns.js';
import { EopError, ErrorCode } from '../errors.js';
import { formatLogRecord } from '../log.js';
import { signalExitCode, TERMINATING_SIGNALS } from '../signals.js';
import { defaultRack } from '../topology/default-rack.js';
import { loadTopology } from '../topology/load.js';
import { addLimitOptions, checkDirFlag, checkPathArg, limitsFromFlags, limitsHelp, nsPrefixArg, snaplenArg, SNAPLEN_HELP, type LimitFlags } from './input-options.js';
import type { Topology } from '../topology/schema.js';

/** Longest wait for the kernel's counters before the final status (teardown must stay quick). */
const FINAL_COUNTERS_WAIT_MS = 2_000;

interface UpFlags extends LimitFlags {
  nsPrefix: string;
  captures: boolean;
  captureDir?: string;
  captureSnaplen?: number;
  stats?: number | boolean;
  lagToleranceMs?: number;
  logLevel?: string;
  gro: boolean;
  busyPollMs?: number;
}

function secondsArg(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`must be a number of seconds above 0 (got "${v}")`);
  return n;
}

function msArg(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`must be a number of milliseconds above 0 (got "${v}")`);
  return n;
}

function busyPollArg(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1000) throw new InvalidArgumentError(`must be a number of milliseconds from 0 to 1000 (got "${v}")`);
  return n;
}

function topologyForUp(path: string | undefined, flags: UpFlags): Topology {
  // the same validation and limits as `eop validate` and `eop run`
  checkDirFlag(flags.captureDir, '--capture-dir');
  if (checkPathArg(path, 'rack file') !== undefined) return loadTopology(path!, limitsFromFlags(flags));
  const t = defaultRack();
  return { ...t, traffic: [], hosts: t.hosts.map((h) => ({ ...h, attach: 'tap' as const })) };
}

function upCommand(path: string | undefined, flags: UpFlags): Promise<number> | number {
  const missing = liveRackPreflight();
  if (missing) {
    process.stderr.write(`eop up: ${missing}\n`);
    return 2;
  }
  const topo = topologyForUp(path, flags);
  const taps = topo.hosts.filter((h) => h.attach === 'tap');
  if (taps.length === 0) {
    process.stderr.write(`eop up: no host of rack "${topo.name}" has attach: tap, so there is nothing to bring up (set attach: tap on the hosts to reach from namespaces).\n`);
    return 2;
  }
  // One running rack per rack name and per namespace prefix (src/cli/rack-registry.ts).
  const conflict = rackConflict(topo.name, flags.nsPrefix);
  if (conflict) {
    process.stderr.write(`eop up: ${conflict}\n`);
    return 2;
  }
  const out = (s: string): void => void process.stdout.write(s + '\n');
  const err = (s: string): void => void process.stderr.write(s + '\n');
  const level = (flags.logLevel ?? 'warn') as 'error' | 'warn' | 'info' | 'debug';
  // Signals from here on must not kill us before the namespaces are gone: setup runs `ip`
  // synchronously, so remember a stop asked for meanwhile and honour it once set up.
  let pendingSignal: NodeJS.Signals | null = null;
  const early = (sig: NodeJS.Signals): void => {
    pendingSignal ??= sig;
  };
  // Every catchable terminating signal (SIGQUIT and SIGUSR2 too) tears the rack down.
  const STOP_SIGNALS = TERMINATING_SIGNALS;
  for (const s of STOP_SIGNALS) process.on(s, early);
  const dropEarly = (): void => {
    for (const s of STOP_SIGNALS) process.removeListener(s, early);
  };
  let live: LiveRack;
  try {
    live = new LiveRack(topo, {
      nsPrefix: flags.nsPrefix,
      captures: flags.captures && topo.captures.enabled,
      gro: flags.gro,
      ...(flags.busyPollMs !== undefined ? { busyPollMs: flags.busyPollMs } : {}),
      ...(flags.captureDir ? { captureDir: flags.captureDir } : {}),
      ...(flags.lagToleranceMs ? { lagToleranceNs: flags.lagToleranceMs * 1e6 } : {}),
      onTapFailure: (msg) => err(`eop up: ${msg}; the rest of the rack keeps running`),
      onCaptureError: (msg) => err(`eop up: ${msg}; that capture stops, the rack keeps running (the status lists what was lost)`),
      ...(flags.captureSnaplen !== undefined ? { snaplenBytes: flags.captureSnaplen } : {}),
    });
  } catch (e) {
    dropEarly();
    if (e instanceof EopError) {
      err(`eop up: ${e.message}`);
      return e.code === ErrorCode.CONFIG_INVALID || e.code === ErrorCode.TAP_OPEN || e.code === ErrorCode.TAP_ADDON_MISSING ? 2 : 1;
    }
    throw e;
  }
  live.rack.log.setSink((r) => err(formatLogRecord(r)), level);
  // The status endpoint (eop status) is a unix socket beside the record; without /run both are
  // missing and eop down still works by name.
  const statusSocket = statusSocketPath();
  const statePath = registerRack({
    mode: 'up',
    rack: topo.name,
    nsPrefix: flags.nsPrefix,
    namespaces: live.tapHosts.map((t) => t.ns),
    links: live.tapHosts.map((t) => t.cfg.ifName),
    statusUrl: null,
    statusSocket,
  });
  const sampler = new RackStatusSampler(live, 'up', flags.lagToleranceMs ?? 1);
  const statusServer = new RackServer({ socketPath: statusSocket, status: () => sampler.snapshot(), faults: liveFaultEndpoint(live) });

  for (const n of live.notes) err(`note: ${n}`);
  for (const h of topo.hosts) {
    const th = live.tapHosts.find((t) => t.cfg.name === h.name);
    out(
      th
        ? `${h.name}: namespace ${th.ns}, ${h.ifName} ${h.mac.text} ${h.ipv4.cidr} ${h.ipv6.cidr} mtu ${h.mtu} (eop exec ${h.name} -- <command>)`
        : `${h.name}: built-in stack, ${h.mac.text} ${h.ipv4.cidr} ${h.ipv6.cidr} mtu ${h.mtu} (answers ping and UDP echo/discard)`,
    );
  }
  out(
    live.captures
      ? `captures (wall-clock timestamps): ${live.capturePaths.join(', ')}`
      : 'captures: off',
  );
  out(
    `link: Gen${topo.link.gen} x${topo.link.width} MPS ${topo.link.mpsBytes}; live mode: frames are delivered no earlier than the model allows`,
  );

  return new Promise<number>((resolve) => {
    let statsTimer: NodeJS.Timeout | undefined;
    // The kernel's counters are read inside each namespace (a process per host): not on a timer of
    // its own, only when a status is printed.
    const printStatus = (): void => {
      void live.refreshKernelCounters().then(() => {
        if (!stopping) out(formatLiveStatus(live.status()));
      });
    };
    let stopping = false;
    const finish = async (sig: NodeJS.Signals): Promise<void> => {
      if (stopping) return; // a second Ctrl-C during teardown must not cut it short
      stopping = true;
      if (statsTimer) clearInterval(statsTimer);
      clearInterval(behindTimer);
      process.removeListener('SIGUSR1', printStatus);
      live.runner.stop();
      // The kernel's counts for the final status: read in parallel, and never holding up teardown
      // for more than a couple of seconds.
      await Promise.race([live.refreshKernelCounters(), new Promise((r) => setTimeout(r, FINAL_COUNTERS_WAIT_MS))]);
      live.captures?.closeAll(); // everything on disk before the final figures
      out(formatLiveStatus(live.status()));
      sampler.stop();
      void statusServer.close();
      live.stop();
      if (statePath) rmSync(statePath, { force: true });
      rmSync(statusSocket, { force: true });
      out(`stopped (${sig}): removed ${live.tapHosts.map((t) => t.ns).join(', ')}`);
      for (const s of STOP_SIGNALS) process.removeListener(s, finish);
      resolve(0);
    };
    // SIGHUP: the terminal went away; still clean up.
    for (const s of STOP_SIGNALS) process.on(s, finish);
    dropEarly();
    process.on('SIGUSR1', printStatus);
    process.on('exit', () => {
      // Last resort (an uncaught error): never leave namespaces behind.
      live.stop();
      if (statePath) rmSync(statePath, { force: true });
      rmSync(statusSocket, { force: true });
    });
    live.start();
    sampler.start();
    rmSync(statusSocket, { force: true }); // a stale socket of a crashed run with our pid
    statusServer.listen().catch((e: Error) => err(`eop up: no status endpoint (eop status will not find this rack): ${e.message}`));
    // The file's traffic: runs on the built-in hosts; what a TAP host would send is said, not skipped silently.
    const tr = live.traffic;
    if (tr) {
      const started = tr.pings.length + tr.streams.length;
      if (started > 0) out(`traffic: ${started} item(s) of the rack file started on built-in hosts (progress in the status)`);
      for (const s of tr.skipped) err(`note: traffic ${s.spec.kind} ${s.spec.from} → ${s.spec.to} not started: ${s.reason}`);
    }
    // Falling behind the model is said out loud on stderr when it starts and when it ends.
    const lag = new LagAnnouncer(flags.lagToleranceMs ?? 1);
    const behindTimer = setInterval(() => {
      const msg = lag.update(live.runner.recent(), live.lateness().lateBatches, Date.now());
      if (msg) err(`eop up: ${msg}`);
    }, 1000);
    behindTimer.unref();
    if (flags.stats !== undefined && flags.stats !== false) {
      const s = typeof flags.stats === 'number' ? flags.stats : 1;
      statsTimer = setInterval(printStatus, s * 1000);
    }
    out(
      `ready: rack "${topo.name}" live, ${taps.length} host(s) on TAPs in namespaces ${live.tapHosts.map((t) => t.ns).join(', ')}` +
        `${live.stacks.size ? `, ${live.stacks.size} on the built-in stack` : ''}; stop with Ctrl-C (SIGINT) or SIGTERM, status on SIGUSR1 (pid ${process.pid})`,
    );
    // A stop asked for during setup: honour it now that everything can be taken down.
    if (pendingSignal) setImmediate(finish, pendingSignal);
  });
}

function execCommand(host: string, command: string[], nsPrefix: string): number | Promise<number> {
  if (command.length === 0) {
    process.stderr.write('eop exec: give a command after the host, e.g. eop exec h1 -- ping 10.11.0.2\n');
    return 2;
  }
  let ns: string;
  try {
    ns = validateNetnsName(`${nsPrefix}${host}`);
  } catch (e) {
    process.stderr.write(`eop exec: ${(e as Error).message}\n`);
    return 2;
  }
  if (!(nsPrefix === 'eop-' ? listEopNetns().includes(ns) : netnsExists(ns))) {
    process.stderr.write(`eop exec: there is no namespace ${ns} (is "eop up" running, and is ${host} a TAP host?)\n`);
    return 2;
  }
  // `ip netns exec` execs the command, so the child's pid is the command's: signals sent to us
  // (kill, a supervisor's SIGTERM) are passed on to it, and we end with its status.
  return new Promise<number>((resolve) => {
    const child = spawn('ip', ['netns', 'exec', ns, ...command], { stdio: 'inherit' });
    const forward = (sig: NodeJS.Signals): void => {
      try {
        child.kill(sig);
      } catch {
        // already gone
      }
    };
    // On a terminal, Ctrl-C, Ctrl-\\ and window resizes reach every process of the foreground group,
    // the command included: passing them on as well would deliver them twice (a second SIGINT
    // aborts what the first asked to wind down, e.g. iperf3's summary).
    const fromTerminal = new Set<string>(process.stdin.isTTY ? ['SIGINT', 'SIGQUIT', 'SIGWINCH'] : []);
    const forwarded = ([...TERMINATING_SIGNALS, 'SIGUSR1', 'SIGWINCH', 'SIGCONT'] as NodeJS.Signals[]).filter((s) => !fromTerminal.has(s));
    // Still listen for those: without a listener a SIGINT would kill us before the command ends.
    const swallow = (): void => {};
    for (const sig of fromTerminal) process.on(sig as NodeJS.Signals, swallow);
    for (const sig of forwarded) process.on(sig, forward);
    const done = (code: number): void => {
      for (const sig of forwarded) process.removeListener(sig, forward);
      for (const sig of fromTerminal) process.removeListener(sig as NodeJS.Signals, swallow);
      resolve(code);
    };
    child.on('error', (e) => {
      process.stderr.write(`eop exec: ${e.message}\n`);
      done(1);
    });
    child.on('exit', (code, signal) => done(code ?? signalExitCode(signal ?? 'SIGTERM')));
  });
}

/** Registers up, down and exec on the program. Actions set process.exitCode. */
const UP_LIMITS = ['maxInputBytes', 'maxDurationMs', 'maxMemoryMiB'] as const;

export function registerLiveCommands(program: Command): void {
  const up = program
    .command('up')
    .description('Bring a rack up live: one network namespace per TAP host (eop-<host>), real frames through the model until Ctrl-C.')
    .argument('[topology]', 'rack file (YAML or JSON); default: the embedded rack with h1..h4 all on TAPs')
    .option('--ns-prefix <prefix>', 'namespace prefix (one running rack per prefix and per rack name)', nsPrefixArg, 'eop-')
    .option('--no-captures', 'do not write capture files')
    .option('--capture-dir <dir>', "write captures here instead of the topology's captures.dir (a run replaces the previous run's files there)")
    .option('--capture-snaplen <bytes|headers>', SNAPLEN_HELP, snaplenArg)
    .option('--no-gro', 'TAPs without a vnet header: write every frame into them on its own and let the kernels segment TCP (default: merge TCP segments into the TAPs as a NIC\'s GRO does and UDP datagrams into UDP GSO writes, read TCP super-frames and segment them as its TSO does; the fabric carries real frames either way)')
    .option('--stats [seconds]', 'print the status view periodically (default every 1 s); SIGUSR1 prints it once', secondsArg)
    .option('--lag-tolerance-ms <ms>', 'event lateness counted as "emulator slower than the model" (default 1)', msArg)
    .option('--busy-poll-ms <ms>', `keep polling this long after the last frame, trading a core for lower latency of sparse traffic, worth it only with a core to spare; an idle rack never polls, and polling pauses while the process is preempted (default ${DEFAULT_BUSY_POLL_MS}: sleep at once; e.g. 20)`, busyPollArg)
    .addOption(new Option('--log-level <level>', 'log detail on stderr').choices(['error', 'warn', 'info', 'debug']).default('warn'));
  addLimitOptions(up, UP_LIMITS)
    .addHelpText(
      'after',
      '\nExamples:\n  sudo eop up --stats 5            # default rack, h1..h4 in eop-h1..eop-h4\n  sudo eop exec h1 -- ping 10.11.0.2\n  sudo eop down                    # after a crash\n\n' +
        limitsHelp(UP_LIMITS),
    )
    .action(async (path: string | undefined, flags: UpFlags) => {
      process.exitCode = await upCommand(path, flags);
    });

  registerDown(program);

  program
    .command('exec')
    .description("Run a command inside a host's network namespace (eop-<host>).")
    .argument('<host>', 'host name, e.g. h1')
    .argument('<command...>', 'command and arguments (put them after --)')
    .option('--ns-prefix <prefix>', 'namespace prefix of the rack (eop up --ns-prefix)', nsPrefixArg, 'eop-')
    .action(async (host: string, command: string[], flags: { nsPrefix: string }) => {
      process.exitCode = await execCommand(host, command, flags.nsPrefix);
    });
}
