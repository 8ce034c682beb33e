/**
 * `eop fault <kind> <target>`: injects a fault into a running rack (`eop up`, `eop serve`) through
 * its control endpoint (`POST /api/faults`, bridge/fault-endpoint.ts). The fault goes through the
 * same wrappers as a rack file's `faults:` schedule: logged with its time on the rack's stderr,
 * counted, and marked in the rack's captures. `eop fault --list` prints the rack's targets and
 * the faults so far. The rack is chosen like `eop status`: `--rack <name|URL>`, or the only one.
 * Exit codes: 0 injected (or listed), 1 the rack did not answer, 2 bad usage (unknown kind or
 * target, a refused request, no rack or several and no --rack).
 */
import { Command, InvalidArgumentError } from 'commander';
import { oneOf } from '../topology/checks.js';
import { FAULT_KIND_DOCS } from '../topology/field-docs.js';
import { COUNTED_FAULT_KINDS, FAULT_KINDS, LIMITS } from '../topology/types.js';
import { findRackEndpoint, httpRequest } from './rack-endpoint.js';

interface FaultFlags {
  rack?: string;
  inUs?: number;
  count?: number;
  pollUs?: number;
  path?: string;
  list?: boolean;
  json?: boolean;
  token?: string;
  timeoutS: number;
}

interface EventJson {
  timeUs: number;
  origin: string;
  phase: string;
  kind: string;
  host: string;
  detail: string;
}

function numberArg(what: string, ok: (n: number) => boolean) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new InvalidArgumentError(`must be ${what} (got "${v}")`);
    return n;
  };
}

const fmtEvent = (e: EventJson): string => `${e.phase} ${e.kind} ${e.host} at ${(e.timeUs / 1000).toFixed(3)} ms (${e.origin}): ${e.detail}`;

async function faultCommand(kind: string | undefined, target: string | undefined, flags: FaultFlags): Promise<number> {
  const err = (s: string): number => {
    process.stderr.write(`eop fault: ${s}\n`);
    return 2;
  };
  if (!flags.list) {
    if (kind === undefined || target === undefined) return err('give a kind and a target, e.g. eop fault link-down h2 (eop fault --help lists the kinds)');
    const bad = oneOf(FAULT_KINDS)(kind);
    if (bad) return err(`unknown kind "${kind}": ${bad}`);
  }
  const found = findRackEndpoint(flags.rack, 'eop fault --rack <rack> …');
  if ('error' in found) {
    process.stderr.write(`eop fault: ${found.error}\n`);
    return found.exit;
  }
  const where = found.where;
  const token = flags.token ?? process.env.EOP_TOKEN ?? null;
  const body = flags.list
    ? undefined
    : {
        kind,
        target,
        ...(flags.inUs !== undefined ? { atUs: flags.inUs } : {}),
        ...(flags.count !== undefined ? { count: flags.count } : {}),
        ...(flags.pollUs !== undefined ? { pollUs: flags.pollUs } : {}),
        ...(flags.path !== undefined ? { path: flags.path } : {}),
      };
  let r: { status: number; body: string };
  try {
    r = await httpRequest(where, flags.list ? 'GET' : 'POST', '/api/faults', token, flags.timeoutS * 1000, body);
  } catch (e) {
    process.stderr.write(`eop fault: ${where.url ?? where.socketPath} did not answer: ${(e as Error).message}\n`);
    return 1;
  }
  let answer: Record<string, unknown>;
  try {
    answer = JSON.parse(r.body) as Record<string, unknown>;
  } catch {
    // Refusals before the route (a missing token, a foreign origin) are plain text.
    const text = r.body.trim().slice(0, 300);
    if (r.status === 404) process.stderr.write(`eop fault: ${where.url ?? where.socketPath} has no /api/faults (an older eop?): ${text}\n`);
    else process.stderr.write(`eop fault: refused (HTTP ${r.status}): ${text}\n`);
    return r.status === 404 || r.status >= 500 ? 1 : 2;
  }
  if (r.status !== 200) {
    process.stderr.write(`eop fault: refused (HTTP ${r.status}): ${String(answer.error ?? r.body.trim())}\n`);
    return r.status >= 500 ? 1 : 2;
  }
  if (flags.json) {
    process.stdout.write(JSON.stringify(answer) + '\n');
    return 0;
  }
  if (flags.list) {
    const t = answer.targets as { compute: string[]; management: string[]; twoPaths?: string[] };
    const events = answer.events as EventJson[];
    process.stdout.write(
      `targets: compute hosts ${t.compute.join(', ') || 'none'}; management hosts ${t.management.join(', ') || 'none'}; with two NTB paths (path-down/up) ${t.twoPaths?.join(', ') || 'none'}\n`,
    );
    process.stdout.write(events.length ? events.map(fmtEvent).join('\n') + '\n' : 'no faults yet\n');
    return 0;
  }
  const events = answer.events as EventJson[];
  if (events.length === 0) process.stdout.write(`${String(answer.origin)}: ${kind} on ${target} scheduled in ${String(answer.atUs)} µs (the rack logs it when it strikes)\n`);
  else process.stdout.write(events.map(fmtEvent).join('\n') + '\n');
  return 0;
}

export function registerFault(program: Command): void {
  const kinds = FAULT_KINDS.map((k) => `  ${k.padEnd(13)} ${FAULT_KIND_DOCS[k]}`).join('\n');
  program
    .command('fault')
    .description('Inject a fault into a running rack (eop up, eop serve) now: the same faults as a rack file\'s "faults:", logged with their time, counted and marked in the captures.')
    .argument('[kind]', `what happens: ${FAULT_KINDS.join(', ')}`)
    .argument('[target]', 'the host hit: a compute host of the rack (h1…); for mh-fail and mh-restart a management host')
    .option('--rack <name|URL>', 'the rack (name as eop status shows it, or http://host:port of eop serve); default: the only one running')
    .option('--in-us <µs>', 'strike this long from now (default: now)', numberArg('a number of µs >= 0', (n) => n >= 0))
    .option('--count <n>', `${COUNTED_FAULT_KINDS.join(', ')}: operations hit (default 1)`, numberArg(`an integer from 1 to ${LIMITS.maxFaultCount}`, (n) => Number.isSafeInteger(n) && n >= 1 && n <= LIMITS.maxFaultCount))
    .option('--poll-us <µs>', "irq-lost: the driver's poll interval (default 1000)", numberArg('a number of µs above 0', (n) => n > 0))
    .option('--path <primary|backup>', 'path-down, path-up: which of the host\'s two NTB paths (default primary)')
    .option('--list', "print the rack's targets and every fault so far, inject nothing")
    .option('--json', 'print the answer of /api/faults as JSON')
    .option('--token <secret>', 'token of an eop serve started with one (default $EOP_TOKEN)')
    .option('--timeout-s <s>', 'give up after this long', numberArg('seconds above 0', (n) => n > 0), 5)
    .addHelpText(
      'after',
      `\nKinds:\n${kinds}\n\nTargets: a compute host of the running rack (eop fault --list names them); mh-fail and mh-restart\n` +
        'take a management host (a rack file with two hosts of role: management has a master and a backup).\n' +
        '\nExamples:\n  eop fault link-down h2          # the only running rack\n  eop fault link-up h2\n' +
        '  eop fault irq-lost h3 --count 5 --poll-us 200\n  eop fault path-down h2 --path primary\n  eop fault mh-fail mh --rack lab\n  eop fault --list\n',
    )
    .action(async (kind: string | undefined, target: string | undefined, flags: FaultFlags) => {
      process.exitCode = await faultCommand(kind, target, flags);
    });
}
