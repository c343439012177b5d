import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    // Every JSON response of a test app is checked against the OpenAPI document (test/helpers/response-validation.ts).
    setupFiles: ['test/helpers/response-validation.setup.ts'],
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 30_000,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
