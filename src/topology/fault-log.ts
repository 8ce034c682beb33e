/**
 * The record of a run's injected faults: every fault and every recovery with its virtual time,
 * counted by kind, written to the rack's log and marked in the capture files (a pcapng comment on
 * each interface's next frame). `installFaults` writes here; the report reads it.
 */
import type { Logger } from '../log.js';
import type { Ns } from '../time/units.js';
import { FAULT_KINDS, type FaultKind } from './types.js';

export interface FaultEvent {
  timeNs: Ns;
  /** The `faults:` entry, e.g. "faults[2]". */
  origin: string;
  kind: FaultKind;
  host: string;
  /** `fault`: it struck; `recovery`: the rack got over it. */
  phase: 'fault' | 'recovery';
  detail: string;
}

/** Something that can carry a note on its next frame (a CaptureFile). */
export interface FaultMarker {
  annotate(text: string): void;
}

/**
 * Events kept for the report. Counts stay exact beyond it; a schedule of a million lost interrupts
 * must not keep a million records (nor log a million lines).
 */
export const MAX_FAULT_EVENTS_KEPT = 1000;

const zeroCounts = (): Record<FaultKind, number> => Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;

export class FaultLog {
  readonly events: FaultEvent[] = [];
  /** Faults that struck, and recoveries seen, by kind (recoveries under the kind they recover from). */
  readonly injected = zeroCounts();
  readonly recovered = zeroCounts();
  /** Events beyond MAX_FAULT_EVENTS_KEPT (counted above, not listed nor logged). */
  unlisted = 0;
  private markers: FaultMarker[] = [];

  constructor(
    private readonly log: Logger,
    private readonly now: () => Ns,
  ) {}

  /** The kinds that struck (and recovered) at least once, as reports list them. */
  counts(): { injected: Record<string, number>; recovered: Record<string, number> } {
    const nonZero = (d: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(d).filter(([, n]) => n > 0));
    return { injected: nonZero(this.injected), recovered: nonZero(this.recovered) };
  }

  /** Mark every later event in these files too. */
  markIn(markers: Iterable<FaultMarker>): void {
    this.markers = [...this.markers, ...markers];
  }

  fault(origin: string, kind: FaultKind, host: string, detail: string): void {
    this.injected[kind]++;
    this.add({ timeNs: this.now(), origin, kind, host, phase: 'fault', detail });
  }

  recovery(origin: string, kind: FaultKind, host: string, detail: string): void {
    this.recovered[kind]++;
    this.add({ timeNs: this.now(), origin, kind, host, phase: 'recovery', detail });
  }

  private add(e: FaultEvent): void {
    if (this.events.length >= MAX_FAULT_EVENTS_KEPT) {
      this.unlisted++;
      return;
    }
    this.events.push(e);
    const text = `${e.phase} ${e.kind} ${e.host} (${e.origin}): ${e.detail}`;
    this.log.warn('fault', text);
    const stamp = `eop ${text} at ${(e.timeNs / 1000).toFixed(3)} µs`;
    for (const m of this.markers) m.annotate(stamp);
  }
}
