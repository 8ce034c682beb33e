/**
 * The address maps, after Marlin's global physical address space.
 *
 * Global space (the management host's 48-bit physical space, which the switch routes on):
 *   [h × 64 GiB, (h+1) × 64 GiB)   host h's memory (h = 0 is the management host, 1… the compute hosts)
 *   NTB_REGS_BASE + h × 64 KiB     host h's NTB registers (scratchpads, doorbell), MMIO
 *
 * Host-local space (what one host's CPU and DMA engine address):
 *   [0, ramBytes)                  RAM (sparse), except the MSI hole below
 *   [MSI_BASE, MSI_BASE + 1 MiB)   interrupt messages: a 4-byte write here raises vector = data
 *   [OUTBOUND_BASE, +globalSpan)   the NTB's outbound window onto the global space
 *
 * A compute host reaches host k's byte `a` by writing to OUTBOUND_BASE + k × 64 GiB + a; its NTB
 * translates that into the global space, the switch routes it to host k's NTB, which translates
 * it down to `a` in host k's space, where host k's IOMMU decides whether it may land.
 */
import type { Bytes } from '../time/units.js';

export const GiB64: Bytes = 64 * 1024 * 1024 * 1024;
/** Each host's aperture in the global space (Marlin: compute hosts 64 GiB apart). */
export const HOST_APERTURE_BYTES: Bytes = GiB64;
/** NTB register apertures sit high in the 48-bit space, clear of every host's memory. */
export const NTB_REGS_BASE = 0x7f00_0000_0000;
export const NTB_REGS_STRIDE: Bytes = 64 * 1024;
/** The x86 MSI address range; a write here is an interrupt, not memory. */
export const MSI_BASE = 0xfee0_0000;
export const MSI_BYTES: Bytes = 0x10_0000;
/** Host-local base of the NTB's outbound window (upper half of the 48-bit space). */
export const OUTBOUND_BASE = 0x8000_0000_0000;
/** The outbound window covers the whole lower half of the global space. */
export const OUTBOUND_BYTES: Bytes = 0x8000_0000_0000;
/** Largest supported host count: apertures must stay below the NTB register area. */
export const MAX_HOSTS = Math.floor(NTB_REGS_BASE / HOST_APERTURE_BYTES);

export const hostApertureBase = (h: number): number => h * HOST_APERTURE_BYTES;
export const ntbRegsBase = (h: number): number => NTB_REGS_BASE + h * NTB_REGS_STRIDE;
/** Host-local address that reaches global address `g` through the outbound window. */
export const viaWindow = (g: number): number => OUTBOUND_BASE + g;
/** Host-local address that reaches byte `a` of host `h` through the outbound window. */
export const remoteAddr = (h: number, a: number): number => OUTBOUND_BASE + h * HOST_APERTURE_BYTES + a;

export const isMsiAddr = (a: number): boolean => a >= MSI_BASE && a < MSI_BASE + MSI_BYTES;
