/**
 * A range of a host's memory under protected DMA: every inbound write into it must carry a memory
 * credential that the host's `CredentialAuthority` issued and now validates (dma-credentials.ts).
 * Installed from outside as a wrapper around the host's `Iommu.allows` (the fabric's one check per
 * landing write), so neither the IOMMU nor the fabric knows about credentials; writes outside the
 * range keep the IOMMU's ordinary grants.
 *
 * How a credential travels with its transfer: the requester presents it when it posts the transfer
 * (`present`), and it waits in that requester's queue until the transfer's writes land. Posted
 * writes from one requester to one target land in the order they were issued, so the queue's head
 * is the credential of the write landing now. A refused write is not written (the fabric counts it
 * as ERR_IOMMU_BLOCKED and the engine's descriptor completes with that error); the authority counts
 * why under its own code, and the refused transfer's credential is dropped from the queue.
 */
import { ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { Bytes } from '../time/units.js';
import type { CredentialAuthority, MemoryCredential } from './dma-credentials.js';
import type { Iommu } from './iommu.js';

/** Credentials one requester may have waiting (a bound: a requester presenting and never writing). */
export const MAX_PRESENTED_PER_REQUESTER = 4096;

export class ProtectedRange {
  private readonly queues = new Map<number, MemoryCredential[]>();
  /** Presentations refused because the requester's queue was full. */
  queueFull = 0;

  constructor(
    iommu: Iommu,
    readonly authority: CredentialAuthority,
    readonly base: number,
    readonly lenBytes: Bytes,
    private readonly log: Logger | null = null,
    private readonly name = 'protected range',
  ) {
    const allows = iommu.allows.bind(iommu);
    iommu.allows = (requester: number, addr: number, len: Bytes): boolean => {
      if (addr + len <= this.base || addr >= this.base + this.lenBytes) return allows(requester, addr, len);
      return this.admit(requester, addr, len);
    };
  }

  /** The requester hands in the credential of a transfer it is posting; false if its queue is full. */
  present(requester: number, cred: MemoryCredential): boolean {
    let q = this.queues.get(requester);
    if (!q) this.queues.set(requester, (q = []));
    if (q.length >= MAX_PRESENTED_PER_REQUESTER) {
      this.queueFull++;
      return false;
    }
    q.push(cred);
    return true;
  }

  private admit(requester: number, addr: number, len: Bytes): boolean {
    const q = this.queues.get(requester);
    const cred = q?.[0] ?? null;
    const last = cred !== null && addr + len >= cred.base + cred.lenBytes;
    const code = this.authority.check(cred, requester, addr, len, last);
    if (code === null) {
      if (last) q!.shift();
      return true;
    }
    if (cred) q!.shift();
    this.log?.warn('iommu', `${this.name}: write [0x${addr.toString(16)}, +${len}) by requester 0x${requester.toString(16)} refused: ${describe(code)}`, code);
    return false;
  }
}

function describe(code: ErrorCode): string {
  switch (code) {
    case ErrorCode.DMA_CREDENTIAL_FORGED:
      return 'forged credential';
    case ErrorCode.DMA_CREDENTIAL_REPLAYED:
      return 'replayed credential';
    case ErrorCode.DMA_CREDENTIAL_EXPIRED:
      return 'expired credential';
    default:
      return 'no credential covering the write';
  }
}
