import { defineConfig } from "vitest/config";

// Two projects: fast in-process suites run in parallel; suites that spawn processes (gateway, redis-server, the policy
// pack, tsc) run one file at a time so they do not fight the 2-core machine for CPU (see
// shared/reference/testing-notes.md), and only after the in-process suites (groupOrder), so a load test's gateways or a
// compile never compete with timing-sensitive in-process suites (admission under overload). Same total time.
export default defineConfig({
  test: {
    // vitest's default on a 2-core machine is one worker (cores − 1), which runs the in-process suites one file at a
    // time although most of them wait on sockets (gateways, emulators, Redis) rather than compute. Two workers.
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          sequence: { groupOrder: 0 },
          exclude: ["test/**/*.process.test.ts"],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "process",
          include: ["test/**/*.process.test.ts"],
          sequence: { groupOrder: 1 },
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
