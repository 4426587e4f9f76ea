import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // onnxruntime-node's typed-array checks break under the vmThreads pool (TOOLCHAIN.md).
    pool: 'forks',
    // ONNX Runtime's telemetry writes files into TMPDIR and ~/.cache at each process's first
    // session (docs/pipeline.md); the suite's processes opt out as the CLI does. Tests that watch
    // TMPDIR also ignore those files, so they pass either way.
    env: { ORT_DISABLE_TELEMETRY: '1' },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
