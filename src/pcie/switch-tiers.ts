/**
 * More than one switch tier: top-of-rack (ToR) switches joined by a spine switch.
 *
 * Every host's link ends at its ToR switch. A transfer between two hosts on the same ToR crosses one
 * switch, as in a single-switch rack; between hosts on different ToRs it goes up the source ToR's
 * uplink to the spine and down the target ToR's uplink: three switch hops and two more link
 * crossings, and every transfer between those two racks shares the two uplinks. So path latency
 * and bandwidth sharing depend on where hosts sit. An uplink is a PCIe link like a host's (its own
 * generation and width; `up` carries ToR → spine, `down` spine → ToR).
 */
import { Link, type LinkConfig } from './link.js';

export interface TorSpec {
  name: string;
  /** The ToR's link to the spine. */
  spineLink: LinkConfig;
}

export class SwitchTiers {
  readonly uplinks: Link[];

  constructor(
    readonly tors: readonly TorSpec[],
    /** ToR index of each host, by host index. */
    readonly torOf: readonly number[],
  ) {
    if (tors.length < 2) throw new Error('switch tiers: at least two ToR switches (one ToR is the single-switch rack)');
    torOf.forEach((t, h) => {
      if (!Number.isInteger(t) || t < 0 || t >= tors.length) throw new Error(`switch tiers: host ${h} sits on ToR ${t}, which does not exist`);
    });
    this.uplinks = tors.map((t) => new Link(`${t.name}.spine`, t.spineLink));
  }

  torName(hostIndex: number): string {
    return this.tors[this.torOf[hostIndex] ?? 0]!.name;
  }
}
