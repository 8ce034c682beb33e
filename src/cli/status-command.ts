/**
 * `eop status [target] [--json]`: reads `/api/status` of a running rack and prints it. The target is
 * a URL (`http://127.0.0.1:8080`), a rack name, or nothing: the only rack running on this machine
 * (found in the rack registry: `eop serve` by its URL, `eop up` by its unix socket), else
 * http://127.0.0.1:8080. A token comes from --token or EOP_TOKEN.
 * Exit codes: 0 printed, 1 the rack did not answer, 2 bad usage (no rack found, several and no target).
 */
import { request } from 'node:http';
import { Command, InvalidArgumentError } from 'commander';
import { formatRackStatus, type RackStatusJson } from '../../bridge/rack-status.js';
import { runningRacks } from './rack-registry.js';

interface StatusFlags {
  json?: boolean;
  token?: string;
  timeoutS: number;
}

/** GET path over TCP (url) or a unix socket; resolves with the body, rejects with a sentence. */
export function httpGet(target: { url?: string; socketPath?: string }, path: string, token: string | null, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const u = target.url ? new URL(path, target.url) : null;
    const req = request(
      {
        ...(u ? { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || 80, path: u.pathname + u.search } : { socketPath: target.socketPath, path }),
        method: 'GET',
        headers: token ? { authorization: `Bearer ${token}` } : {},
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}: ${body.trim()}`))));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => reject(e));
    req.end();
  });
}

async function statusCommand(target: string | undefined, flags: StatusFlags): Promise<number> {
  const token = flags.token ?? process.env.EOP_TOKEN ?? null;
  let where: { url?: string; socketPath?: string };
  if (target && /^https?:\/\//.test(target)) where = { url: target };
  else if (target && /^wss?:\/\//.test(target)) where = { url: target.replace(/^ws/, 'http') };
  else {
    const racks = runningRacks().filter((r) => !target || r.rack === target);
    if (racks.length > 1) {
      process.stderr.write(`eop status: ${racks.length} racks are running (${racks.map((r) => `"${r.rack}" pid ${r.pid}`).join(', ')}); name one: eop status <rack>\n`);
      return 2;
    }
    const r = racks[0];
    if (!r && target) {
      process.stderr.write(`eop status: no running rack named "${target}" (give a URL for a rack on another machine)\n`);
      return 2;
    }
    if (r && !r.statusUrl && !r.statusSocket) {
      process.stderr.write(`eop status: rack "${r.rack}" (pid ${r.pid}) has no status endpoint (an older eop?)\n`);
      return 1;
    }
    where = r ? (r.statusUrl ? { url: r.statusUrl } : { socketPath: r.statusSocket! }) : { url: 'http://127.0.0.1:8080' };
  }
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
