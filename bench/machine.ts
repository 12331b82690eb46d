/** What the numbers were measured on: CPU model, cores, memory, kernel, node. */
import { readFileSync } from "node:fs";
import { availableParallelism, cpus, release, totalmem } from "node:os";
import { serverNode } from "./server-node.js";

export interface Machine {
  cpuModel: string;
  /** Logical CPUs the OS reports (os.cpus()). */
  cores: number;
  /** os.availableParallelism(): what node thinks it may use (affinity-aware). */
  availableParallelism: number;
  memoryGiB: number;
  kernel: string;
  /** The node running the bench itself (and the in-process load generator, autocannon). */
  node: string;
  /** The node running the servers under test (server-node.ts). */
  serverNode: string;
}

export function describeMachine(): Machine {
  let cpuModel = cpus()[0]?.model ?? "unknown";
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m) cpuModel = m[1]!.trim();
  } catch {
    // not Linux: os.cpus() it is
  }
  return {
    cpuModel,
    cores: cpus().length,
    availableParallelism: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: `Linux ${release()}`,
    node: process.version,
    serverNode: `${serverNode().version} (${serverNode().note})`,
  };
}

export function machineLine(m: Machine): string {
  return `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.kernel}; servers on node ${m.serverNode}, bench on node ${m.node}`;
}
