/**
 * A CPU profile of one process of the bench, through the V8 inspector (`deno run --inspect`):
 * sampled over the measured window, saved as a `.cpuprofile` (Chrome DevTools opens it) and
 * summarised as self time per module and per function.
 */
import { round } from "./stats.ts";

/** A V8 CPU profile, as `Profiler.stop` returns it. */
export interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    children?: number[];
  }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Self time of one module or function. */
export interface ProfileEntry {
  name: string;
  selfMs: number;
  /** Share of the busy (non-idle) samples. */
  share: number;
}

/** What a profile says, in short. */
export interface ProfileSummary {
  process: string;
  file: string;
  /** Sampled time that was not idle. */
  busyMs: number;
  byModule: ProfileEntry[];
  topFunctions: ProfileEntry[];
}

/** A started profile. */
export interface RunningProfile {
  /** Stops sampling and returns the profile. */
  stop(): Promise<CpuProfile>;
}

/** Connects to the inspector on `port` and starts sampling every `intervalUs` microseconds. */
export async function startProfile(port: number, intervalUs = 1_000): Promise<RunningProfile> {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as Array<
    { webSocketDebuggerUrl?: string }
  >;
  const url = targets.find((t) => t.webSocketDebuggerUrl)?.webSocketDebuggerUrl;
  if (url === undefined) throw new Error(`Cannot profile: no inspector target on port ${port}`);
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error(`Cannot profile: cannot connect to ${url}`));
  });
  let nextId = 1;
  const pending = new Map<number, (message: { result?: unknown; error?: unknown }) => void>();
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data as string) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message);
  };
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, (message) => {
        pending.delete(id);
        if (message.error !== undefined) {
          reject(new Error(`Inspector ${method} failed: ${JSON.stringify(message.error)}`));
        } else resolve(message.result);
      });
      socket.send(JSON.stringify({ id, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: intervalUs });
  await send("Profiler.start");
  return {
    async stop() {
      try {
        const { profile } = await send("Profiler.stop") as { profile: CpuProfile };
        return profile;
      } finally {
        socket.close();
      }
    },
  };
}

/** The module a frame belongs to: an npm package, a folder of ours, or the runtime. */
export function moduleOf(url: string, functionName: string): string {
  if (url === "") {
    return functionName.startsWith("(") ? functionName : "native code";
  }
  const npm = /node_modules\/\.deno\/([^/]+?)@[^/]+\/node_modules\//.exec(url) ??
    /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (npm) return `npm:${npm[1]}`;
  if (url.startsWith("ext:") || url.startsWith("node:")) {
    return `deno runtime (${url.split("/")[0]?.replace(/:$/, "")})`;
  }
  const ours = /\/((?:lib|services|scripts)\/[^/]+)\//.exec(url);
  if (ours) return ours[1]!;
  return url.replace(/^file:\/\/\/?/, "").split("/").slice(-2).join("/");
}

/** Self time per module and the top functions of `profile` (idle samples left out). */
export function summarizeProfile(
  profile: CpuProfile,
  options: { process: string; file: string; top?: number },
): ProfileSummary {
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const byModule = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busyUs = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") continue;
    busyUs += us;
    const module = moduleOf(url, functionName);
    byModule.set(module, (byModule.get(module) ?? 0) + us);
    const name = `${functionName || "(anonymous)"} ${module}${url ? `:${lineNumber + 1}` : ""}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  }
  const entries = (map: Map<string, number>, limit: number) =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, limit).map(([name, us]) => ({
      name,
      selfMs: round(us / 1_000, 1),
      share: busyUs === 0 ? 0 : round(us / busyUs, 3),
    }));
  return {
    process: options.process,
    file: options.file,
    busyMs: round(busyUs / 1_000, 1),
    byModule: entries(byModule, 20),
    topFunctions: entries(byFunction, options.top ?? 15),
  };
}
