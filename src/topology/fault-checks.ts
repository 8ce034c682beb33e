/**
 * The checks of one fault entry that its fields' own checks cannot make: that the host named fits
 * the kind (a compute host, one with two NTB paths for path-down and path-up, or a management host
 * for mh-fail and mh-restart), and that `count`, `pollUs` and `path` appear only on the kinds that
 * use them. Rack files (validate.ts), bench scenarios
 * and `POST /api/faults` (fault-request.ts) all use these, so a fault is judged alike everywhere.
 */
import { COUNTED_FAULT_KINDS, MANAGEMENT_FAULT_KINDS, PATH_FAULT_KINDS, type FaultKind } from './types.js';

/** The hosts a fault may name. */
export interface FaultTargets {
  compute: readonly string[];
  management: readonly string[];
  /** Compute hosts with two NTB paths (undefined: not checked here; rack files check `backupPath`). */
  twoPaths?: readonly string[];
}

/** "a, b and 3 more", or "there are none". */
export function listNames(names: readonly string[]): string {
  const max = 16;
  if (names.length === 0) return 'there are none';
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

export const isManagementKind = (kind: unknown): boolean => (MANAGEMENT_FAULT_KINDS as readonly unknown[]).includes(kind);

/**
 * Problems of a fault entry, as [field, sentence]; `hostField` is what the caller calls the host
 * (`host` in files, `target` in requests). Fields of the wrong type are left to the field checks.
 */
export function faultEntryProblems(f: Record<string, unknown>, t: FaultTargets, hostField = 'host'): [string, string][] {
  return [...faultHostProblems(f, t, hostField), ...faultFieldProblems(f)];
}

/** Whether the host named fits the kind. */
export function faultHostProblems(f: Record<string, unknown>, t: FaultTargets, hostField = 'host'): [string, string][] {
  const h = f[hostField];
  const kind = f.kind;
  if (typeof h !== 'string' || h.length === 0) return [];
  const mh = isManagementKind(kind);
  if (mh && !t.management.includes(h)) {
    const what = t.compute.includes(h) ? `"${h}" is a compute host` : `unknown management host "${h}"`;
    return [[hostField, `${what}; ${String(kind)} hits a management host (management hosts: ${listNames(t.management)})`]];
  }
  if (!mh && !t.compute.includes(h)) {
    const what = t.management.includes(h) ? `"${h}" is a management host, which only mh-fail and mh-restart hit` : `unknown host "${h}"`;
    return [[hostField, `${what} (compute hosts are ${listNames(t.compute)})`]];
  }
  if (t.twoPaths && (PATH_FAULT_KINDS as readonly unknown[]).includes(kind) && !t.twoPaths.includes(h)) {
    return [[hostField, `"${h}" has one NTB path: ${String(kind)} needs a host with two (hosts with two: ${listNames(t.twoPaths)})`]];
  }
  return [];
}

/** `count` and `pollUs` only where the kind uses them (on the entry as written, before defaults). */
export function faultFieldProblems(f: Record<string, unknown>): [string, string][] {
  const out: [string, string][] = [];
  const kind = f.kind;
  const counted = typeof kind === 'string' && (COUNTED_FAULT_KINDS as readonly string[]).includes(kind);
  if (f.count !== undefined && typeof kind === 'string' && !counted) {
    out.push(['count', `only ${COUNTED_FAULT_KINDS.join(', ')} hit a number of operations; "${kind}" happens once (remove count)`]);
  }
  if (f.pollUs !== undefined && kind !== ('irq-lost' satisfies FaultKind)) out.push(['pollUs', 'only irq-lost has a driver poll interval (remove pollUs)']);
  const pathKind = typeof kind === 'string' && (PATH_FAULT_KINDS as readonly string[]).includes(kind);
  if (f.path !== undefined && typeof kind === 'string' && !pathKind) {
    out.push(['path', `only ${PATH_FAULT_KINDS.join(', ')} hit one NTB path; "${kind}" hits the host (remove path)`]);
  }
  return out;
}
