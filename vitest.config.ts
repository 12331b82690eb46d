import { defineConfig } from "vitest/config";

// Two projects: fast in-process suites run in parallel; suites that spawn processes (gateway, redis-server) run one
// file at a time so they do not fight the 2-core machine for CPU (see shared/reference/testing-notes.md).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/**/*.process.test.ts"],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "process",
          include: ["test/**/*.process.test.ts"],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
