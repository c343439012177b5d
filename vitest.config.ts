import { configDefaults, defineConfig } from 'vitest/config';

const shared = { pool: 'forks', testTimeout: 20_000, hookTimeout: 30_000 } as const;

export default defineConfig({
  test: {
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    projects: [
      {
        test: {
          ...shared,
          name: 'server',
          globalSetup: ['test/global-setup.ts'],
          // Every JSON response of a test app is checked against the OpenAPI document (test/helpers/response-validation.ts).
          setupFiles: ['test/helpers/response-validation.setup.ts'],
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/e2e/**'],
        },
      },
      {
        // Real server processes on databases of their own (test/e2e/harness.ts) and Chromium. They
        // take much of two shared cores, so they run after the other suites: neither the e2e steps
        // nor the others' timing bounds suffer from both at once.
        test: { ...shared, name: 'e2e', include: ['test/e2e/**/*.test.ts'], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
