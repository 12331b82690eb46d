/**
 * What a child process costs, read from Linux /proc: CPU time (utime + stime of /proc/<pid>/stat, in clock ticks)
 * and memory (VmRSS and VmHWM of /proc/<pid>/status). A Meter brackets one measured run.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

/** Clock ticks per second (USER_HZ), almost always 100: CPU time is known to 10 ms. */
export const CLK_TCK: number = (() => {
  try {
    const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU time of a process so far, in milliseconds. */
export function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) is in parentheses and may contain spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLK_TCK;
}

export interface Memory {
  /** Resident set size now, MiB. */
  rssMb: number;
  /** Peak resident set size (high-water mark) since start or the last resetPeak, MiB. */
  hwmMb: number;
}

export function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024 };
}

/** Resets VmHWM to the current RSS (writing 5 to clear_refs, Linux ≥ 4.0). False if the kernel refused. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

export interface MeterReading {
  /** CPU time used during the run, ms. */
  cpuMs: number;
  /** Wall time of the run, ms. */
  wallMs: number;
  /** CPU time / wall time: 1.0 = one core busy all the time. */
  cores: number;
  /** RSS at the end, the largest RSS seen by 100 ms sampling, and VmHWM at the end (MiB). */
  rssMb: number;
  sampledPeakRssMb: number;
  hwmMb: number;
  /** Whether VmHWM was reset at the start (so hwmMb is this run's peak, not the process's). */
  hwmReset: boolean;
  /** Every 500 ms: seconds since the start, CPU cores used in that slice, RSS (MiB). */
  series: { t: number; cores: number; rssMb: number }[];
}

/** Measures one process over one run: `const m = new Meter(pid, true); ...; const r = m.stop();` */
export class Meter {
  private readonly cpu0: number;
  private readonly t0 = performance.now();
  private peak = 0;
  private readonly timer: NodeJS.Timeout;
  private samples = 0;
  private last: { t: number; cpu: number };
  private readonly series: MeterReading["series"] = [];
  private readonly hwmReset: boolean;

  constructor(
    private readonly pid: number,
    resetHwm = false,
  ) {
    this.hwmReset = resetHwm && resetPeak(pid);
    this.cpu0 = cpuTimeMs(pid);
    this.last = { t: this.t0, cpu: this.cpu0 };
    this.sample();
    this.timer = setInterval(() => this.sample(), 100);
  }

  private sample(): void {
    try {
      const { rssMb } = memory(this.pid);
      this.peak = Math.max(this.peak, rssMb);
      if (++this.samples % 5 === 0) {
        const t = performance.now();
        const cpu = cpuTimeMs(this.pid);
        const cores = (cpu - this.last.cpu) / (t - this.last.t);
        this.series.push({
          t: Math.round(t - this.t0) / 1000,
          cores: Math.round(cores * 100) / 100,
          rssMb: Math.round(rssMb),
        });
        this.last = { t, cpu };
      }
    } catch {
      // the process exited; stop() reports what was seen
    }
  }

  stop(): MeterReading {
    clearInterval(this.timer);
    this.sample();
    const wallMs = performance.now() - this.t0;
    const cpuMs = cpuTimeMs(this.pid) - this.cpu0;
    const mem = memory(this.pid);
    return {
      cpuMs,
      wallMs,
      cores: cpuMs / wallMs,
      rssMb: mem.rssMb,
      sampledPeakRssMb: this.peak,
      hwmMb: mem.hwmMb,
      hwmReset: this.hwmReset,
      series: this.series,
    };
  }
}

/** The benchmark's own process (the load generator): CPU from process.cpuUsage(), sliced every 500 ms. */
export class SelfMeter {
  private readonly cpu0 = process.cpuUsage();
  private readonly t0 = performance.now();
  private last = { t: this.t0, cpu: this.cpu0 };
  private readonly series: { t: number; cores: number }[] = [];
  private readonly timer = setInterval(() => {
    const t = performance.now();
    const cpu = process.cpuUsage();
    const used = (cpu.user - this.last.cpu.user + cpu.system - this.last.cpu.system) / 1000;
    this.series.push({ t: Math.round(t - this.t0) / 1000, cores: Math.round((used / (t - this.last.t)) * 100) / 100 });
    this.last = { t, cpu };
  }, 500);

  stop(): { cpuMs: number; cores: number; series: { t: number; cores: number }[] } {
    clearInterval(this.timer);
    const d = process.cpuUsage(this.cpu0);
    const cpuMs = (d.user + d.system) / 1000;
    return { cpuMs, cores: cpuMs / (performance.now() - this.t0), series: this.series };
  }
}

/** TcpExt counters of /proc/net/netstat (machine-wide): accept-queue overflows. */
function listenOverflows(): number {
  const text = readFileSync("/proc/net/netstat", "utf8").split("\n");
  for (let i = 0; i + 1 < text.length; i += 2) {
    if (!text[i]!.startsWith("TcpExt:")) continue;
    const names = text[i]!.split(/\s+/);
    const values = text[i + 1]!.split(/\s+/);
    const at = names.indexOf("ListenOverflows");
    return at === -1 ? NaN : Number(values[at]);
  }
  return NaN;
}

export interface MachineReading {
  /** Connections dropped because a listening socket's accept queue was full (machine-wide, during the run). */
  listenOverflows: number;
}

/**
 * Machine-wide counters over one run. (Machine-wide CPU from /proc/stat is left out on purpose: on this VM its idle
 * accounting drifts at low load, while per-process utime/stime stays exact.)
 */
export class MachineMeter {
  private readonly overflows0 = listenOverflows();

  stop(): MachineReading {
    return { listenOverflows: listenOverflows() - this.overflows0 };
  }
}
