import { describe, expect, it } from 'vitest';
import { BridgeDrop, CODES, codeInfo, DropCounters, ErrorCode, isByDesign, NeighborDrop, StackDrop, WsDrop } from '../src/errors.js';

describe('the code registry', () => {
  it('gives every code a unique stable string, a layer and a one-line meaning', () => {
    const codes = CODES.map((c) => c.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const c of CODES) {
      expect(c.code).toMatch(/^(ERR_[A-Z0-9_]+|[a-z0-9]+(-[a-z0-9]+)*)$/);
      expect(c.meaning.length).toBeGreaterThan(10);
      expect(c.meaning).not.toContain('\n');
      expect(codeInfo(c.code)).toBe(c);
    }
  });

  it('its five views are groups of the one registry, with ERR_ only on ErrorCode', () => {
    const views = [ErrorCode, StackDrop, NeighborDrop, BridgeDrop, WsDrop].map((v) => Object.values(v) as string[]);
    expect(views.flat().sort()).toEqual(CODES.map((c) => c.code).sort());
    expect(views[0]!.every((c) => c.startsWith('ERR_'))).toBe(true);
    for (const v of views.slice(1)) expect(v.some((c) => c.startsWith('ERR_'))).toBe(false);
    expect(codeInfo(StackDrop.NOT_FOR_US)?.layer).toBe('stack');
    expect(codeInfo(NeighborDrop.QUEUE_FULL)?.layer).toBe('neighbor');
    expect(codeInfo(BridgeDrop.TAP_WRITE)?.layer).toBe('bridge');
    expect(codeInfo(WsDrop.CLIENT_QUEUE_FULL)?.layer).toBe('bridge');
    expect(codeInfo(ErrorCode.IOMMU_BLOCKED)?.layer).toBe('iommu');
    expect(codeInfo('no-such-code')).toBeUndefined();
  });

  it('marks as by design exactly the counts of frames meant for someone else', () => {
    expect(CODES.filter((c) => isByDesign(c.code)).map((c) => c.code).sort()).toEqual(
      [
        StackDrop.NOT_FOR_US,
        StackDrop.ARP_OTHER_TARGET,
        StackDrop.IP_NOT_FOR_US,
        StackDrop.UDP_PORT_CLOSED,
        StackDrop.UNKNOWN_ETHERTYPE,
        StackDrop.UNKNOWN_IP_PROTOCOL,
        StackDrop.VLAN_TAGGED,
      ].sort(),
    );
    expect(isByDesign(ErrorCode.BAD_CHECKSUM)).toBe(false);
  });

  it('DropCounters counts registered codes only', () => {
    const d = new DropCounters();
    d.add(ErrorCode.EOP_SEQ_GAP);
    d.add(StackDrop.NOT_FOR_US, 3);
    d.add(BridgeDrop.TAP_GONE);
    // @ts-expect-error: a string that is not a registered code does not type-check
    d.add('some-new-reason');
    expect(d.get(StackDrop.NOT_FOR_US)).toBe(3);
    expect(d.total).toBe(6);
    expect(Object.keys(d.toJSON())).toEqual(['ERR_EOP_SEQ_GAP', 'not-for-us', 'some-new-reason', 'tap-gone']);
  });
});
