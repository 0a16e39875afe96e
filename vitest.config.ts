import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Two cores: end-to-end files start processes of their own, so keep file parallelism low.
    maxWorkers: 2,
    // End-to-end tests wait on whole processes; unit tests finish in milliseconds either way.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    globalSetup: ['test/global-setup.ts'],
  },
});
