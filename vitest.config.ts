import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['distillery-source'] },
  ssr: { resolve: { conditions: ['distillery-source'] } },
  test: {
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    setupFiles: ['./test/setup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
