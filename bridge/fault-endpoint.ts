/**
 * `/api/faults` of a running rack (`eop up`'s unix socket, `eop serve`'s HTTP port): the same
 * fault wrappers as the rack file's `faults:` schedule (src/topology/install-faults.ts), struck on
 * request, so every fault is logged with its time, counted and marked in the captures like a
 * scheduled one.
 *
 *   GET  /api/faults   kinds, the rack's targets, counts so far and the logged events
 *   POST /api/faults   {"kind": "link-down", "target": "h2", "atUs"?: 0, "count"?: 1, "pollUs"?: 1000, "path"?: "primary"}
 *                      200 with what happened; 400 with a sentence per problem (unknown kind or
 *                      target, a field the kind does not take)
 *
 * A fault strikes at the model's time of the wall clock now (the model is brought up to date
 * first), or `atUs` later.
 */
import type { IncomingMessage } from 'node:http';
import { ErrorCode } from '../src/errors.js';
import type { FaultTargets } from '../src/topology/fault-checks.js';
import { parseFaultRequest } from '../src/topology/fault-request.js';
import type { FaultEvent, InstalledFaults } from '../src/topology/install.js';
import type { Rack } from '../src/topology/rack.js';
import { FAULT_KINDS, type FaultSpec } from '../src/topology/types.js';
import type { LiveRack } from './live-rack.js';

export interface FaultAnswer {
  status: number;
  body: unknown;
}

/** What the HTTP server asks of a rack that takes faults. */
export interface FaultEndpoint {
  get(): unknown;
  /** A decoded JSON body. */
  post(body: unknown): FaultAnswer;
}

/** The parts of a live rack the endpoint drives. */
export interface FaultableRack {
  readonly rack: Rack;
  readonly faults: InstalledFaults;
  readonly topo: { hosts: readonly { name: string }[] };
  /** Model time now by the wall clock (ns), and running everything due up to it. */
  virtualNow(): number;
  sync(): void;
}

const eventJson = (e: FaultEvent) => ({ timeUs: e.timeNs / 1000, origin: e.origin, phase: e.phase, kind: e.kind, host: e.host, detail: e.detail });

export function faultEndpoint(live: FaultableRack): FaultEndpoint {
  let requests = 0;
  const targets = (): FaultTargets => ({
    compute: live.topo.hosts.map((h) => h.name),
    management: live.rack.management?.names() ?? [],
    twoPaths: live.topo.hosts.filter((h) => live.rack.fabric.multipath?.has(live.rack.host(h.name).index)).map((h) => h.name),
  });
  return {
    get() {
      const log = live.faults.log;
      return {
        kinds: FAULT_KINDS,
        targets: targets(),
        injected: log.injected,
        recovered: log.recovered,
        events: log.events.map(eventJson),
        unlisted: log.unlisted,
      };
    },
    post(body) {
      const origin = `eop fault #${requests + 1}`;
      const r = parseFaultRequest(body, targets(), origin);
      if (!r.ok) return { status: 400, body: { error: r.problems.join('; '), code: ErrorCode.USAGE, problems: r.problems } };
      requests++;
      const log = live.faults.log;
      live.sync();
      // The model's clock stands at its last event; the fault strikes at the wall clock's time.
      const lagUs = Math.max(0, live.virtualNow() - live.rack.sched.now) / 1000;
      const spec: FaultSpec = { ...r.spec, atUs: r.spec.atUs + lagUs };
      const before = log.events.length;
      live.faults.inject(spec);
      if (r.spec.atUs === 0) live.sync();
      return {
        status: 200,
        body: {
          origin,
          kind: spec.kind,
          target: spec.host,
          atUs: r.spec.atUs,
          virtualNowUs: live.rack.sched.now / 1000,
          events: log.events.slice(before).map(eventJson),
        },
      };
    },
  };
}

/** The endpoint of a live rack (eop up, eop serve). */
export function liveFaultEndpoint(live: LiveRack): FaultEndpoint {
  return faultEndpoint({ rack: live.rack, faults: live.faults, topo: live.topo, virtualNow: () => live.runner.virtualNow(), sync: live.sync });
}

/** A fault request is a few fields: anything longer is refused before it is buffered. */
export const MAX_FAULT_REQUEST_BYTES = 4096;

type Send = (code: number, type: string, body: string) => void;

/** Serves one request to /api/faults (after the server's token and origin checks). */
export function serveFaults(ep: FaultEndpoint, req: IncomingMessage, send: Send): void {
  const json = (code: number, body: unknown): void => send(code, 'application/json', JSON.stringify(body) + '\n');
  const refuse = (code: number, error: string): void => {
    // Whatever of the body is left is read and thrown away, so the client gets the answer, not a reset.
    if (!req.readableEnded) req.resume();
    json(code, { error, code: ErrorCode.USAGE });
  };
  if (req.method === 'GET' || req.method === 'HEAD') return json(200, ep.get());
  if (req.method !== 'POST') return refuse(405, 'only GET and POST');
  // A JSON content type keeps browsers from posting here cross-site without a preflight.
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return refuse(415, 'send the fault as JSON with content-type: application/json');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_FAULT_REQUEST_BYTES) return refuse(413, `a fault request is at most ${MAX_FAULT_REQUEST_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let bytes = 0;
  let over = false;
  req.on('data', (c: Buffer) => {
    bytes += c.length;
    if (bytes > MAX_FAULT_REQUEST_BYTES) over = true;
    else chunks.push(c);
  });
  req.on('end', () => {
    if (over) return refuse(413, `a fault request is at most ${MAX_FAULT_REQUEST_BYTES} bytes`);
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (e) {
      return refuse(400, `the body is not JSON: ${(e as Error).message}`);
    }
    let a: FaultAnswer;
    try {
      a = ep.post(body);
    } catch (e) {
      return refuse(500, `the fault could not be injected: ${(e as Error).message}`);
    }
    json(a.status, a.body);
  });
  req.on('error', () => refuse(400, 'the request broke off'));
}
