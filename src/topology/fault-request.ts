/**
 * A fault asked for at run time (`POST /api/faults` of a running rack, what `eop fault` sends):
 * `{ "kind": "link-down", "target": "h2" }`, with `atUs` (delay from now, default 0), `count`,
 * `pollUs` and `path` as in a `faults:` entry of a rack file, checked by the same field and cross-field checks
 * (a request names its host `target`). Anything else is refused with every problem as a sentence.
 */
import { isRecord } from './checks.js';
import { faultEntryProblems, type FaultTargets } from './fault-checks.js';
import { formatPath } from './problems.js';
import { faultShape } from './shapes.js';
import type { FaultSpec } from './types.js';
import { obj } from './zod-fields.js';

const RequestSchema = obj(
  {
    kind: faultShape.kind,
    target: faultShape.host,
    atUs: faultShape.atUs.optional(),
    count: faultShape.count,
    pollUs: faultShape.pollUs,
    path: faultShape.path,
  },
  'a JSON object with "kind" and "target"',
);

export type FaultRequestResult = { ok: true; spec: FaultSpec } | { ok: false; problems: string[] };

/** Checks a decoded request body; `origin` names the fault in the log (e.g. "eop fault #3"). */
export function parseFaultRequest(body: unknown, targets: FaultTargets, origin: string): FaultRequestResult {
  const r = RequestSchema.safeParse(body);
  const problems: string[] = [];
  if (!r.success) {
    for (const iss of r.error.issues) {
      const path = iss.path.filter((p): p is string | number => typeof p !== 'symbol');
      problems.push(path.length > 0 ? `${formatPath(path)}: ${iss.message}` : iss.message);
    }
  }
  if (isRecord(body)) for (const [field, message] of faultEntryProblems(body, targets, 'target')) problems.push(`${field}: ${message}`);
  if (problems.length > 0 || !r.success) return { ok: false, problems: [...new Set(problems)] };
  const d = r.data;
  return { ok: true, spec: { origin, atUs: d.atUs ?? 0, kind: d.kind, host: d.target, count: d.count, pollUs: d.pollUs, path: d.path } };
}
