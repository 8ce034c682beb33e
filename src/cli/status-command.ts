/**
 * `eop status [target] [--json]`: reads `/api/status` of a running rack and prints it. The target is
 * a URL (`http://127.0.0.1:8080`), a rack name, or nothing: the only rack running on this machine
 * (found in the rack registry: `eop serve` by its URL, `eop up` by its unix socket), else
 * http://127.0.0.1:8080. A token comes from --token or EOP_TOKEN.
 * Exit codes: 0 printed, 1 the rack did not answer, 2 bad usage (no rack found, several and no target).
 */
import { Command, InvalidArgumentError } from 'commander';
import { formatRackStatus, type RackStatusJson } from '../../bridge/rack-status.js';
import { findRackEndpoint, httpRequest, type Endpoint } from './rack-endpoint.js';

interface StatusFlags {
  json?: boolean;
  token?: string;
  timeoutS: number;
}

/** GET path over TCP (url) or a unix socket; resolves with the body, rejects with a sentence. */
export async function httpGet(target: Endpoint, path: string, token: string | null, timeoutMs: number): Promise<string> {
  const r = await httpRequest(target, 'GET', path, token, timeoutMs);
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.body.trim()}`);
  return r.body;
}

async function statusCommand(target: string | undefined, flags: StatusFlags): Promise<number> {
  const token = flags.token ?? process.env.EOP_TOKEN ?? null;
  const found = findRackEndpoint(target, 'eop status <rack>');
  if ('error' in found) {
    process.stderr.write(`eop status: ${found.error}\n`);
    return found.exit;
  }
  const where = found.where;
  let body: string;
  try {
    body = await httpGet(where, '/api/status', token, flags.timeoutS * 1000);
  } catch (e) {
    process.stderr.write(`eop status: ${where.url ?? where.socketPath} did not answer: ${(e as Error).message}\n`);
    return 1;
  }
  if (flags.json) {
    process.stdout.write(body.endsWith('\n') ? body : body + '\n');
    return 0;
  }
  let s: RackStatusJson;
  try {
    s = JSON.parse(body) as RackStatusJson;
  } catch {
    process.stderr.write('eop status: the answer is not JSON\n');
    return 1;
  }
  process.stdout.write(formatRackStatus(s) + '\n');
  return 0;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('Print the live status of a running rack (eop up or eop serve): per host and queue pair frames, bytes, rates, drops, link state, and whether the emulator is behind the model now.')
    .argument('[target]', 'URL (http://host:port), rack name, or nothing for the only rack running here')
    .option('--json', 'print the JSON of /api/status')
    .option('--token <secret>', 'token of a server started with one (default $EOP_TOKEN)')
    .option('--timeout-s <s>', 'give up after this long', (v: string) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`--timeout-s must be above 0 (got "${v}")`);
      return n;
    }, 5)
    .action(async (target: string | undefined, flags: StatusFlags) => {
      process.exitCode = await statusCommand(target, flags);
    });
}
