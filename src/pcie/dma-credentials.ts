/**
 * Protected DMA with memory credentials, after the Scalable I/O seed: the host gateway (here: the
 * target host's IOMMU side) *issues* a memory credential when a transfer is posted, and *validates*
 * it when the device touches the host's memory. Like the OSD security model it is based on, a
 * credential is a capability: its fields (requester, range, expiry, nonce) travel with it, sealed
 * by an authentication code under a key only the issuer knows, so checking needs no table of
 * issued credentials. Only replay needs state, bounded: a window of recent nonces (IPsec's
 * anti-replay window), and nonces older than the window are refused.
 *
 * What is refused, each counted under its stable code and never written:
 * - ERR_DMA_CREDENTIAL_FORGED: the code does not match the fields (a changed range, requester,
 *   expiry or nonce, or an invented credential).
 * - ERR_DMA_CREDENTIAL_REPLAYED: a credential whose transfer already used it (or older than the
 *   replay window).
 * - ERR_DMA_CREDENTIAL_EXPIRED: presented after its expiry (virtual time).
 * - ERR_DMA_CREDENTIAL_MISSING: an access to protected memory with no credential, or one that does
 *   not cover the access.
 * A transfer may be cut into several writes (the HRDMA engine's chunks): each is checked against
 * the same credential, which is used up when the write reaching the end of its range lands.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { DropCounters, ErrorCode } from '../errors.js';
import type { Bytes, Ns } from '../time/units.js';

export interface MemoryCredential {
  /** Requester ID the credential was issued to. */
  readonly requester: number;
  /** Target-local range it opens, [base, base + lenBytes). */
  readonly base: number;
  readonly lenBytes: Bytes;
  readonly expiresNs: Ns;
  readonly nonce: number;
  /** HMAC-SHA-256 of the fields above, cut to 16 bytes. */
  readonly mac: Uint8Array;
}

export interface CredentialOptions {
  /** How long a credential stays valid after it is issued. */
  lifetimeNs: Ns;
  /** Nonces remembered for replay detection (older ones are refused). */
  replayWindow: number;
}

/**
 * 100 µs covers a transfer queued behind a full HRDMA ring at Gen1 x1 (1024 descriptors of 64 KiB at
 * 2 Gb/s is far more, but a credential is issued when its transfer is posted, not when the ring is
 * filled); 4096 nonces are 512 bytes of bitmap.
 */
export const DEFAULT_CREDENTIALS: CredentialOptions = { lifetimeNs: 100_000, replayWindow: 4096 };

const MAC_BYTES = 16;

export class CredentialAuthority {
  readonly drops = new DropCounters();
  issued = 0;
  /** Accesses let through. */
  accepted = 0;
  private readonly key: Buffer;
  private nextNonce = 1;
  /** Highest nonce used, and which of the `replayWindow` below it were used (bit i: highest - i). */
  private highest = 0;
  private readonly used: Uint8Array;
  private readonly fields = Buffer.alloc(40);

  constructor(
    private readonly now: () => Ns,
    readonly opts: CredentialOptions = DEFAULT_CREDENTIALS,
    key: Uint8Array = randomBytes(32),
  ) {
    if (!(opts.lifetimeNs > 0)) throw new Error(`credential lifetime must be > 0 (got ${opts.lifetimeNs})`);
    if (!Number.isInteger(opts.replayWindow) || opts.replayWindow < 1) throw new Error(`replay window must be a positive integer (got ${opts.replayWindow})`);
    this.key = Buffer.from(key);
    this.used = new Uint8Array(Math.ceil(opts.replayWindow / 8));
  }

  /** A credential for `requester` to write [base, base + lenBytes), issued as its transfer is posted. */
  issue(requester: number, base: number, lenBytes: Bytes): MemoryCredential {
    const c = { requester, base, lenBytes, expiresNs: this.now() + this.opts.lifetimeNs, nonce: this.nextNonce++ };
    this.issued++;
    return { ...c, mac: this.sign(c) };
  }

  /**
   * Validates `cred` for an access by `requester` to [addr, addr + len): null if allowed, else the
   * refusal's code (counted). `last`: this access ends the transfer, so the credential is used up.
   */
  check(cred: MemoryCredential | null, requester: number, addr: number, len: Bytes, last: boolean): ErrorCode | null {
    const code = this.verdict(cred, requester, addr, len);
    if (code) {
      this.drops.add(code);
      return code;
    }
    if (last) this.markUsed(cred!.nonce);
    this.accepted++;
    return null;
  }

  private verdict(cred: MemoryCredential | null, requester: number, addr: number, len: Bytes): ErrorCode | null {
    if (!cred) return ErrorCode.DMA_CREDENTIAL_MISSING;
    // Authenticity first: a forged credential's other fields mean nothing.
    const want = this.sign(cred);
    if (!(cred.mac instanceof Uint8Array) || cred.mac.length !== MAC_BYTES || !timingSafeEqual(want, cred.mac)) return ErrorCode.DMA_CREDENTIAL_FORGED;
    if (this.wasUsed(cred.nonce)) return ErrorCode.DMA_CREDENTIAL_REPLAYED;
    if (this.now() > cred.expiresNs) return ErrorCode.DMA_CREDENTIAL_EXPIRED;
    // Issued to someone else (a stolen credential), or not covering the access.
    if (cred.requester !== requester || addr < cred.base || addr + len > cred.base + cred.lenBytes) return ErrorCode.DMA_CREDENTIAL_MISSING;
    return null;
  }

  private sign(c: Omit<MemoryCredential, 'mac'>): Buffer {
    const f = this.fields;
    f.writeUInt32LE(c.requester >>> 0, 0);
    f.writeDoubleLE(c.base, 4);
    f.writeDoubleLE(c.lenBytes, 12);
    f.writeDoubleLE(c.expiresNs, 20);
    f.writeDoubleLE(c.nonce, 28);
    f.writeUInt32LE(0x45_4f_50_31, 36); // "EOP1": a version, so a later layout never verifies as this one
    return createHmac('sha256', this.key).update(f).digest().subarray(0, MAC_BYTES);
  }

  private wasUsed(nonce: number): boolean {
    if (nonce > this.highest) return false;
    const age = this.highest - nonce;
    if (age >= this.opts.replayWindow) return true; // too old to tell: refused as a replay
    return (this.used[age >> 3]! & (1 << (age & 7))) !== 0;
  }

  private markUsed(nonce: number): void {
    if (nonce > this.highest) {
      this.shift(nonce - this.highest);
      this.highest = nonce;
    }
    const age = this.highest - nonce;
    this.used[age >> 3]! |= 1 << (age & 7);
  }

  /** Ages every remembered nonce by `n` (bit i moves to bit i + n; those past the window drop out). */
  private shift(n: number): void {
    const w = this.opts.replayWindow;
    if (n >= w) {
      this.used.fill(0);
      return;
    }
    for (let age = w - 1; age >= 0; age--) {
      const from = age - n;
      const bit = from >= 0 && (this.used[from >> 3]! & (1 << (from & 7))) !== 0;
      if (bit) this.used[age >> 3]! |= 1 << (age & 7);
      else this.used[age >> 3]! &= ~(1 << (age & 7));
    }
  }
}
