/**
 * What Linux says about processes and the machine, from /proc: CPU seconds (`/proc/<pid>/stat`),
 * resident and peak resident memory (`VmRSS`, `VmHWM` of `/proc/<pid>/status`), machine CPU
 * (`/proc/stat`) and load (`/proc/loadavg`).
 */

/** Clock ticks per second of `/proc` CPU times (`USER_HZ`, 100 on every Linux ABI we run on). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** One reading of a process. */
export interface ProcessSample {
  pid: number;
  /** User + system CPU time consumed so far. */
  cpuSeconds: number;
  /** Resident memory now. */
  rssBytes: number;
  /** Peak resident memory since the process started (`VmHWM`). */
  peakRssBytes: number;
}

/** User and system CPU ticks from the text of `/proc/<pid>/stat`. */
export function parseProcStat(text: string): { userTicks: number; systemTicks: number } {
  // The command name (field 2) is in parentheses and may contain spaces: count after its end.
  const end = text.lastIndexOf(")");
  if (end < 0) throw new SyntaxError("Cannot parse /proc/<pid>/stat: no command name found");
  const fields = text.slice(end + 2).trim().split(/\s+/);
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  if (!Number.isFinite(userTicks) || !Number.isFinite(systemTicks)) {
    throw new SyntaxError("Cannot parse /proc/<pid>/stat: utime or stime is not a number");
  }
  return { userTicks, systemTicks };
}

/** `VmRSS` and `VmHWM` in bytes from the text of `/proc/<pid>/status` (0 when absent). */
export function parseProcStatus(text: string): { rssBytes: number; peakRssBytes: number } {
  const kib = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, "m").exec(text);
    return match === null ? 0 : Number(match[1]) * 1024;
  };
  return { rssBytes: kib("VmRSS"), peakRssBytes: kib("VmHWM") };
}

/** Reads a process's CPU and memory; null when it is gone. */
export async function sampleProcess(pid: number): Promise<ProcessSample | null> {
  try {
    const [stat, status] = await Promise.all([
      Deno.readTextFile(`/proc/${pid}/stat`),
      Deno.readTextFile(`/proc/${pid}/status`),
    ]);
    const { userTicks, systemTicks } = parseProcStat(stat);
    return {
      pid,
      cpuSeconds: (userTicks + systemTicks) / CLOCK_TICKS_PER_SECOND,
      ...parseProcStatus(status),
    };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Busy and total CPU ticks of the whole machine from the text of `/proc/stat`. */
export function parseMachineStat(text: string): { busyTicks: number; totalTicks: number } {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (line === undefined) throw new SyntaxError("Cannot parse /proc/stat: no aggregate cpu line");
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal [guest guest_nice, already inside user/nice]
  const total = ticks.slice(0, 8).reduce((sum, value) => sum + value, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busyTicks: total - idle, totalTicks: total };
}

/** Machine CPU ticks now. */
export async function sampleMachine(): Promise<{ busyTicks: number; totalTicks: number }> {
  return parseMachineStat(await Deno.readTextFile("/proc/stat"));
}

/** The 1, 5 and 15 minute load averages (what `uptime` prints). */
export async function loadAverage(): Promise<[number, number, number]> {
  const [one, five, fifteen] = (await Deno.readTextFile("/proc/loadavg")).split(/\s+/).map(Number);
  return [one ?? NaN, five ?? NaN, fifteen ?? NaN];
}

/** Total memory of the machine in bytes (`MemTotal` of `/proc/meminfo`). */
export async function memoryTotalBytes(): Promise<number> {
  const match = /^MemTotal:\s+(\d+)\s+kB/m.exec(await Deno.readTextFile("/proc/meminfo"));
  return match === null ? 0 : Number(match[1]) * 1024;
}

/**
 * Pids of the processes in this process's network namespace whose command line (arguments
 * joined by spaces) satisfies `match`: e.g. the Kafka broker this machine's clients reach.
 */
export async function findProcesses(match: (commandLine: string) => boolean): Promise<number[]> {
  const ownNetwork = await Deno.readLink("/proc/self/ns/net").catch(() => null);
  const found: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const commandLine = (await Deno.readTextFile(`/proc/${entry.name}/cmdline`))
        .replaceAll("\0", " ").trim();
      if (!match(commandLine)) continue;
      const network = await Deno.readLink(`/proc/${entry.name}/ns/net`).catch(() => null);
      if (ownNetwork === null || network === ownNetwork) found.push(Number(entry.name));
    } catch {
      // The process ended while we looked, or is not ours to read.
    }
  }
  return found;
}
