import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts', 'loadtest/**/*.test.ts', 'deploy/**/*.test.ts', 'jobs/**/*.test.ts'],
    exclude: ['dist/**', '**/node_modules/**', '.cache/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
