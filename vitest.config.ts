import { defineConfig } from 'vitest/config';

// Two groups. Unit tests run in parallel. System tests (test/system/) share machine-wide things —
// the eop- namespace prefix, TAP names, /run/eop locks, the CPU that live timing depends on — so
// they run one file at a time, after the unit tests are done (groupOrder), whatever the core count.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/system/**'], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'system', include: ['test/system/**/*.test.ts'], fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
