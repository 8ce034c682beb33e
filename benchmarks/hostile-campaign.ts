/**
 * `npm run campaign` (a measurement, not a test): a bad-input campaign against the built CLI, with
 * a fixed seed so a run can be repeated. It prints, per edge, how many inputs were tried and how
 * many ended clean (exit 0/1/2, no stack trace), crashed (any other exit, a signal, or a stack
 * trace on stderr), hung (killed at the time limit), and, live, whether data was lost.
 *
 *   files   mutations of the shipped scenarios and the printed default rack: `eop validate` then
 *           `eop run` (racks) or `eop bench` (scenarios); also counts files validate accepted but
 *           run rejected (the two must agree).
 *   cli     misuses of every command (each must exit 2 with a message, no stack trace).
 *   live    (root, /dev/net/tun, curl, python3) malformed frames sprayed into both TAPs of a
 *           2-host `eop up` while a 24 MiB file crosses the fabric by HTTP both ways; data lost =
 *           a SHA-256 mismatch; the emulator must still be running afterwards.
 *
 *   npm run campaign [-- --files 300 --seed 7 --only files,cli,live --timeout-s 30]
 *   npm run campaign -- --seed 7 --dump 233     # print mutated file 233 of seed 7, to reproduce a case
 *
 * The live part makes namespaces eop-h1/eop-h2 (through `eop up`) and removes them; run it where no
 * other rack is up. Traffic stays inside those namespaces.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { netnsExecAsync } from '../bridge/netns.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const FILES = Number(arg('files') ?? 300);
const SEED = Number(arg('seed') ?? 7);
const TIMEOUT_MS = Number(arg('timeout-s') ?? 30) * 1000;
const ONLY = (arg('only') ?? 'files,cli,live').split(',');
/** --dump N: print mutated file N of this seed (mutations do not depend on results) and exit. */
const DUMP = arg('dump');

/** xorshift32: a campaign is repeatable for a seed. */
let state = SEED >>> 0 || 1;
function rnd(n: number): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state % n;
}
const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;

type Outcome = 'clean' | 'crashed' | 'hung';
interface Tally {
  tried: number;
  clean: number;
  crashed: number;
  hung: number;
  examples: string[];
}
const tally = (): Tally => ({ tried: 0, clean: 0, crashed: 0, hung: 0, examples: [] });

const STACK = /\n\s+at .+[:(]\d+:\d+\)?/;

function runCli(args: string[], timeoutMs = TIMEOUT_MS): { outcome: Outcome; status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['--max-old-space-size=3072', CLI, ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, NO_COLOR: '1' },
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') return { outcome: 'hung', status: null, stderr: r.stderr ?? '' };
  const ok = r.status !== null && [0, 1, 2].includes(r.status) && !STACK.test(r.stderr ?? '');
  return { outcome: ok ? 'clean' : 'crashed', status: r.status, stderr: r.stderr ?? '' };
}

function count(t: Tally, o: Outcome, what: string): void {
  t.tried++;
  t[o]++;
  if (o !== 'clean' && t.examples.length < 5) t.examples.push(`${o}: ${what}`);
}

const EXTREMES = ['-1', '0', '1e12', '1e308', '0.5', '65536', '4294967296', '.nan', '"x"', 'null', '[]', '{}', '-0', '9007199254740993'];

function mutate(text: string): string {
  let s = text;
  const ops = 1 + rnd(3);
  for (let k = 0; k < ops; k++) {
    const lines = s.split('\n');
    const i = rnd(Math.max(1, lines.length));
    switch (rnd(9)) {
      case 0: {
        const nums = [...s.matchAll(/-?\d+(\.\d+)?/g)];
        if (nums.length) {
          const m = pick(nums);
          s = s.slice(0, m.index) + pick(EXTREMES) + s.slice(m.index! + m[0].length);
        }
        break;
      }
      case 1:
        lines.splice(i, 1);
        s = lines.join('\n');
        break;
      case 2:
        lines.splice(i, 0, lines[i] ?? '');
        s = lines.join('\n');
        break;
      case 3: {
        const j = rnd(Math.max(1, lines.length));
        [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
        s = lines.join('\n');
        break;
      }
      case 4: {
        const at = rnd(s.length + 1);
        s = s.slice(0, at) + String.fromCharCode(rnd(128)) + s.slice(at + 1);
        break;
      }
      case 5: {
        const at = rnd(s.length + 1);
        s = s.slice(0, at) + pick(['\u0000', '\u001b[31m', '\uffff', '\ud800', '\t', ': ', '- ', '&a ', '*a', '!!binary ']) + s.slice(at);
        break;
      }
      case 6:
        s = s.slice(0, rnd(s.length + 1));
        break;
      case 7:
        lines[i] = ' '.repeat(rnd(7)) + (lines[i] ?? '').trimStart();
        s = lines.join('\n');
        break;
      default: {
        const strs = [...s.matchAll(/: ([a-z][\w.-]*)/g)];
        if (strs.length) {
          const m = pick(strs);
          s = s.slice(0, m.index! + 2) + pick(['x'.repeat(10_000), 'all', 'h1', '10.11.0.1', 'fd00::1', '02:00:00:00:00:01', 'tap', 'websocket']) + s.slice(m.index! + m[0].length);
        }
      }
    }
  }
  return s;
}

function campaignFiles(dir: string): { t: Tally; disagree: number; disagreeExamples: string[] } {
  const t = tally();
  let disagree = 0;
  const disagreeExamples: string[] = [];
  const seeds: { kind: 'rack' | 'scenario'; text: string }[] = [];
  const def = spawnSync(process.execPath, [CLI, 'run', '--print-default'], { encoding: 'utf8' });
  if (def.status === 0) seeds.push({ kind: 'rack', text: def.stdout });
  seeds.push({ kind: 'rack', text: 'hosts: [a, b]\ntraffic: [{ kind: ping, from: a, to: b, count: 5 }]\n' });
  for (const f of readdirSync(join(ROOT, 'scenarios')).filter((n) => n.endsWith('.yaml'))) {
    seeds.push({ kind: 'scenario', text: readFileSync(join(ROOT, 'scenarios', f), 'utf8') });
  }
  for (let n = 0; n < (DUMP !== undefined ? Number(DUMP) + 1 : FILES); n++) {
    const seed = seeds[n % seeds.length]!;
    const path = join(dir, `m${n}.yaml`);
    const text = mutate(seed.text);
    if (DUMP !== undefined) {
      if (n === Number(DUMP)) {
        process.stdout.write(text);
        process.exit(0);
      }
      continue;
    }
    writeFileSync(path, text);
    if (seed.kind === 'rack') {
      const v = runCli(['validate', path]);
      count(t, v.outcome, `validate m${n}.yaml (exit ${v.status})`);
      const r = runCli(['run', path, '--no-captures']);
      count(t, r.outcome, `run m${n}.yaml (exit ${r.status}) ${r.stderr.split('\n')[0]?.slice(0, 160)}`);
      if (v.status === 0 && r.status === 2) {
        disagree++;
        if (disagreeExamples.length < 5) disagreeExamples.push(`m${n}.yaml: ${r.stderr.split('\n')[0]?.slice(0, 200)}`);
      }
    } else {
      const r = runCli(['bench', path, '--csv', '-', '--no-progress']);
      count(t, r.outcome, `bench m${n}.yaml (exit ${r.status}) ${r.stderr.split('\n')[0]?.slice(0, 160)}`);
    }
    if (n % 50 === 49) process.stderr.write(`  files: ${n + 1}/${FILES}\n`);
  }
  return { t, disagree, disagreeExamples };
}

function campaignCli(dir: string): { t: Tally; notTwo: string[] } {
  const t = tally();
  const notTwo: string[] = [];
  const missing = join(dir, 'missing.yaml');
  const empty = join(dir, 'empty.yaml');
  writeFileSync(empty, '');
  const bin = join(dir, 'bin.yaml');
  writeFileSync(bin, randomBytes(4096));
  const cases: string[][] = [
    ['run', ''], ['run', missing], ['run', missing, '--print-default'], ['run', empty], ['run', bin], ['run', dir],
    ['run', '--seed', 'x'], ['run', '--seed', '-1'], ['run', '--bogus'], ['run', 'a', 'b'], ['run', '--json', '--strict', missing],
    ['validate'], ['validate', ''], ['validate', missing], ['validate', dir], ['validate', bin], ['validate', '/dev/null'],
    ['bench', '--list', 'extra.yaml'], ['bench', missing], ['bench', '--seed', 'abc'], ['bench', '--svg'], ['bench', '--svg', join(dir, 'no', 'such', 'dir', 'x.svg')],
    ['bench', '--bogus'], ['bench', empty], ['bench', bin],
    ['up', '--lag-tolerance-ms', 'x'], ['up', '--stats', '-5'], ['up', '--log-level', 'loud'], ['up', missing], ['up', '--bogus'],
    ['down', 'extra'], ['down', '--bogus'], ['exec'], ['exec', 'h1'], ['exec', '', 'true'], ['exec', '../../etc', 'true'],
    ['serve', '--port', '99999'], ['serve', '--port', 'x'], ['status', '--bogus'], ['fault', 'nonsense', 'h1'],
    ['nonsense'], ['--bogus'],
  ];
  for (const c of cases) {
    const r = runCli(c, 15_000);
    count(t, r.outcome, `eop ${c.join(' ')}`);
    if (r.status !== 2) notTwo.push(`eop ${c.map((a) => JSON.stringify(a)).join(' ')} → exit ${r.status}`);
  }
  return { t, notTwo };
}

const SPRAY = String.raw`
import socket, os, random, struct, sys, time
ifname, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
mac = open('/sys/class/net/%s/address' % ifname).read().strip()
me = bytes.fromhex(mac.replace(':', ''))
kinds = ['runt', 'random', 'badtype', 'trunc-ip', 'bad-ipck', 'bad-tcpck', 'vlan', 'qinq', 'bcast-storm', 'ip-len-lies', 'v6-trunc', 'arp-garbage']
sent = 0; refused = 0
for i in range(n):
    k = kinds[i % len(kinds)]
    dst = b'\xff' * 6 if k == 'bcast-storm' or rnd.random() < 0.3 else bytes([2, 0xe0] + [rnd.randrange(256) for _ in range(4)])
    if k == 'runt': f = dst + me[:rnd.randrange(0, 7)]
    elif k == 'random': f = dst + me + os.urandom(rnd.randrange(2, 1500))
    elif k == 'badtype': f = dst + me + struct.pack('!H', rnd.randrange(0, 0x600)) + os.urandom(rnd.randrange(0, 200))
    elif k == 'trunc-ip': f = dst + me + b'\x08\x00' + os.urandom(rnd.randrange(0, 19))
    elif k in ('bad-ipck', 'bad-tcpck', 'ip-len-lies'):
        tot = rnd.randrange(40, 1500)
        ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, tot if k != 'ip-len-lies' else rnd.randrange(0, 65536), 1, 0, 64, 6, rnd.randrange(65536), bytes([10, 11, 0, 1]), bytes([10, 11, 0, 2]))
        f = dst + me + b'\x08\x00' + ip + os.urandom(max(0, tot - 20))
    elif k == 'vlan': f = dst + me + b'\x81\x00' + os.urandom(2) + b'\x08\x00' + os.urandom(rnd.randrange(0, 200))
    elif k == 'qinq': f = dst + me + b'\x88\xa8' + os.urandom(2) + b'\x81\x00' + os.urandom(2) + b'\x86\xdd' + os.urandom(rnd.randrange(0, 200))
    elif k == 'v6-trunc': f = dst + me + b'\x86\xdd' + os.urandom(rnd.randrange(0, 40))
    else: f = dst + me + b'\x08\x06' + os.urandom(rnd.randrange(0, 60))
    try:
        s.send(f); sent += 1
    except OSError:
        refused += 1
print('sent', sent, 'refused-by-kernel', refused)
`;

async function campaignLive(dir: string): Promise<{ ran: boolean; why?: string; injected?: number; transfers?: number; lost?: number; alive?: boolean; status?: string }> {
  if (process.getuid?.() !== 0 || !existsSync('/dev/net/tun')) return { ran: false, why: 'needs root and /dev/net/tun' };
  for (const tool of ['curl', 'python3', 'ip']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return { ran: false, why: `needs ${tool}` };
  }
  const rack = join(dir, 'rack.yaml');
  writeFileSync(rack, 'name: campaign\nmtu: 1500\nhosts:\n  - {name: h1, attach: tap}\n  - {name: h2, attach: tap}\n');
  writeFileSync(join(dir, 'spray.py'), SPRAY);
  const payload = randomBytes(24 * 1024 * 1024);
  const want = createHash('sha256').update(payload).digest('hex');
  writeFileSync(join(dir, 'blob'), payload);
  const up = spawn(process.execPath, [CLI, 'up', rack, '--no-captures'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  up.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  up.stderr.setEncoding('utf8').on('data', () => {});
  try {
    for (let i = 0; i < 200 && !/^ready: /m.test(out); i++) await new Promise((r) => setTimeout(r, 100));
    if (!/^ready: /m.test(out)) return { ran: false, why: `eop up not ready: ${out.slice(-300)}` };
    const servers = [
      netnsExecAsync('eop-h1', ['timeout', '120', 'python3', '-m', 'http.server', '8081', '--bind', '10.11.0.1', '--directory', dir], 130_000),
      netnsExecAsync('eop-h2', ['timeout', '120', 'python3', '-m', 'http.server', '8082', '--bind', '10.11.0.2', '--directory', dir], 130_000),
    ];
    await new Promise((r) => setTimeout(r, 800));
    let injected = 0;
    let lost = 0;
    const rounds = 3;
    for (let round = 0; round < rounds; round++) {
      const gets = [
        netnsExecAsync('eop-h1', ['curl', '-s', '--max-time', '60', `http://10.11.0.2:8082/blob`, '-o', join(dir, `got1-${round}`)], 70_000),
        netnsExecAsync('eop-h2', ['curl', '-s', '--max-time', '60', `http://10.11.0.1:8081/blob`, '-o', join(dir, `got2-${round}`)], 70_000),
      ];
      const sprays = await Promise.all([
        netnsExecAsync('eop-h1', ['python3', join(dir, 'spray.py'), 'eop-h1', '6000', String(SEED + round)], 60_000),
        netnsExecAsync('eop-h2', ['python3', join(dir, 'spray.py'), 'eop-h2', '6000', String(SEED + 100 + round)], 60_000),
      ]);
      for (const s of sprays) injected += Number(/sent (\d+)/.exec(s.stdout)?.[1] ?? 0);
      await Promise.all(gets);
      for (const f of [`got1-${round}`, `got2-${round}`]) {
        const p = join(dir, f);
        const got = existsSync(p) ? createHash('sha256').update(readFileSync(p)).digest('hex') : 'missing';
        if (got !== want) lost++;
      }
    }
    up.kill('SIGUSR1');
    await new Promise((r) => setTimeout(r, 500));
    const alive = up.exitCode === null;
    const status = out.split('\n').filter((l) => /^\s+h[12]\s/.test(l)).slice(-2).join('\n');
    await Promise.allSettled(servers);
    return { ran: true, injected, transfers: rounds * 2, lost, alive, status };
  } finally {
    up.kill('SIGTERM');
    await new Promise((r) => up.once('exit', r));
  }
}

function show(name: string, t: Tally): void {
  console.log(`${name.padEnd(6)} tried ${t.tried}  clean ${t.clean}  crashed ${t.crashed}  hung ${t.hung}`);
  for (const e of t.examples) console.log(`         ${e}`);
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) {
    console.error(`${CLI} is missing: run "npm run build" first`);
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'eop-campaign-'));
  try {
    if (DUMP === undefined) console.log(`bad-input campaign, seed ${SEED}, time limit ${TIMEOUT_MS / 1000} s per command`);
    if (ONLY.includes('files')) {
      const f = campaignFiles(dir);
      show('files', f.t);
      console.log(`         validate accepted but run rejected: ${f.disagree}`);
      for (const e of f.disagreeExamples) console.log(`           ${e}`);
    }
    if (ONLY.includes('cli')) {
      const c = campaignCli(dir);
      show('cli', c.t);
      console.log(`         not exit 2: ${c.notTwo.length}`);
      for (const e of c.notTwo) console.log(`           ${e}`);
    }
    if (ONLY.includes('live')) {
      const l = await campaignLive(dir);
      if (!l.ran) console.log(`live   not run: ${l.why}`);
      else {
        console.log(`live   ${l.injected} malformed frames injected during ${l.transfers} 24 MiB transfers: data lost in ${l.lost}; emulator ${l.alive ? 'still running' : 'DIED'}`);
        if (l.status) console.log(l.status);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
