/**
 * Starts one process of a stack the way `testing/supervisor.ts` does (`deno run -A <entry>`,
 * the stack's environment, ready once its URL answers), but with the V8 inspector open on a
 * local port, so the bench can profile it. Its output goes to `<logDir>/<name>.log`.
 */
import { waitFor } from "../../lib/async/mod.ts";
import { type ProcessSpec, SERVICE_V8_FLAGS } from "../../testing/supervisor.ts";

const ROOT = new URL("../..", import.meta.url);

/** A process started with the inspector open. */
export interface InspectedProcess {
  name: string;
  pid: number;
  /** The inspector's port on 127.0.0.1. */
  inspectorPort: number;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/** Starts `spec` with `--inspect` on `inspectorPort` and waits until it is ready. */
export async function startInspected(
  spec: ProcessSpec,
  options: { env: Record<string, string>; logDir: string; inspectorPort: number },
): Promise<InspectedProcess> {
  const log = await Deno.open(`${options.logDir}/${spec.name}.log`, {
    create: true,
    append: true,
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      SERVICE_V8_FLAGS,
      `--inspect=127.0.0.1:${options.inspectorPort}`,
      spec.entry,
    ],
    cwd: ROOT,
    env: { ...options.env, ...spec.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const encoder = new TextEncoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) log.writeSync(chunk);
  };
  const pumped = Promise.all([pump(child.stdout), pump(child.stderr)]).catch(() => {});
  const exited = child.status.then(async (status) => {
    await pumped;
    log.writeSync(encoder.encode(`(exited with code ${status.code})\n`));
    log.close();
    return status;
  });
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await exited;
  };
  try {
    await waitFor(async () => {
      const ended = await Promise.race([exited, Promise.resolve(null)]);
      if (ended !== null) {
        throw new Error(`${spec.name} exited with code ${ended.code} before it was ready`);
      }
      const response = await fetch(spec.readyUrl).catch(() => null);
      await response?.body?.cancel();
      return response?.ok === true;
    }, {
      timeoutMs: 60_000,
      intervalMs: 200,
      description: `${spec.name} to answer ${spec.readyUrl}`,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { name: spec.name, pid: child.pid, inspectorPort: options.inspectorPort, stop };
}
