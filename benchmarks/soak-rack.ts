/**
 * The soak's rack file (benchmarks/soak.ts runs it): four TAP hosts on the default fabric, pcapng
 * captures with small caps so that rotation happens within seconds, and a `faults:` schedule.
 */

export const HOSTS = ['h1', 'h2', 'h3', 'h4'] as const;
export const MAX_FILE_MIB = 1;
export const MAX_FILES = 3;
/** What the captures may use: each host's EOP interface has one capture (both directions). */
export const CAP_BYTES = HOSTS.length * MAX_FILES * MAX_FILE_MIB * 1024 * 1024;

/**
 * One slot every `everyS` seconds, from 3 s after the links came up to 4 s before the end (so every
 * outage has ended by then), cycling through the kinds; each kind cycles through the hosts it can
 * hit (dma-error needs frames large enough for the DMA engine: the two iperf3 senders). Counts are
 * small so that the fault log (which lists at most 1,000 events) lists a 10-minute soak whole.
 */
export function faultSchedule(seconds: number, everyS: number): { yaml: string[]; scheduled: Record<string, number> } {
  const kinds = ['link-down', 'dma-error', 'tlp-corrupt', 'irq-lost', 'host-crash'] as const;
  const targets: Record<(typeof kinds)[number], readonly string[]> = {
    'link-down': HOSTS,
    'dma-error': ['h1', 'h3'],
    'tlp-corrupt': HOSTS,
    'irq-lost': HOSTS,
    'host-crash': HOSTS,
  };
  const yaml: string[] = [];
  const scheduled: Record<string, number> = {};
  const add = (atUs: number, kind: string, host: string, extra = ''): void => {
    yaml.push(`  - {atUs: ${atUs}, kind: ${kind}, host: ${host}${extra}}`);
    scheduled[kind] = (scheduled[kind] ?? 0) + 1;
  };
  for (let i = 0, t = 3; t + 2 <= seconds - 4; i++, t += everyS) {
    const kind = kinds[i % kinds.length]!;
    const hosts = targets[kind];
    const host = hosts[Math.floor(i / kinds.length) % hosts.length]!;
    const at = Math.round(t * 1e6);
    if (kind === 'link-down') {
      add(at, 'link-down', host);
      add(at + 500_000, 'link-up', host);
    } else if (kind === 'host-crash') {
      add(at, 'host-crash', host);
      add(at + 1_000_000, 'host-restart', host);
    } else if (kind === 'irq-lost') add(at, kind, host, ', count: 2, pollUs: 200');
    else add(at, kind, host, `, count: ${kind === 'dma-error' ? 2 : 3}`);
  }
  return { yaml, scheduled };
}

export function rackYaml(faults: string[]): string {
  return [
    'name: soak',
    `hosts: [${HOSTS.map((h) => `{name: ${h}, attach: tap}`).join(', ')}]`,
    `captures: {format: pcapng, maxFileMiB: ${MAX_FILE_MIB}, maxFiles: ${MAX_FILES}}`,
    'faults:',
    ...faults,
    '',
  ].join('\n');
}
