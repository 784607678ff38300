import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/global-setup.ts'],
    // Lambda handlers are tested against loopback servers; keep failures quick and visible.
    testTimeout: 20_000,
    restoreMocks: true,
    unstubEnvs: true,
  },
});
