import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // onnxruntime-node's typed-array checks break under the vmThreads pool (TOOLCHAIN.md).
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
