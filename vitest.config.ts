import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // System tests spawn tshark, the CLI and (later) namespaces; keep them off each other's toes.
    fileParallelism: true,
    pool: 'forks',
  },
});
