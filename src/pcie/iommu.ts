/**
 * A host's IOMMU, as far as inbound writes from the fabric go: every write that arrives through
 * the NTB is checked against the ranges this host granted to that requester. Anything else is
 * blocked (the fabric counts and logs it as ERR_IOMMU_BLOCKED). This is Marlin's isolation rule:
 * a compromised host cannot touch another host's memory beyond what that host exposed to it.
 */
import type { Bytes } from '../time/units.js';

interface Grant {
  base: number;
  end: number;
  label: string;
}

export class Iommu {
  private readonly grants = new Map<number, Grant[]>();
  enabled = true;
  blocked = 0;

  /** Let `requester` write [base, base+len). */
  grant(requester: number, base: number, len: Bytes, label: string): void {
    let list = this.grants.get(requester);
    if (!list) this.grants.set(requester, (list = []));
    list.push({ base, end: base + len, label });
  }

  /** Withdraw every grant of `requester` (its link went down). */
  revokeAll(requester: number): void {
    this.grants.delete(requester);
  }

  /** True if the whole range lies inside one grant of `requester`. */
  allows(requester: number, addr: number, len: Bytes): boolean {
    if (!this.enabled) return true;
    const list = this.grants.get(requester);
    if (list) {
      const end = addr + len;
      for (let i = 0; i < list.length; i++) {
        const g = list[i]!;
        if (addr >= g.base && end <= g.end) return true;
      }
    }
    return false;
  }

  describe(requester: number): string[] {
    return (this.grants.get(requester) ?? []).map((g) => `${g.label} [0x${g.base.toString(16)}, 0x${g.end.toString(16)})`);
  }
}
