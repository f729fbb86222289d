/**
 * Runs the services as separate processes (as in production): used by `deno task dev`, the
 * demo and the end-to-end tests. Each process's output is prefixed with its name, or written
 * to a log file; processes can be killed and restarted one by one.
 */
import { waitFor } from "../lib/async/mod.ts";
import { coalescingWriter } from "../lib/log/mod.ts";
import { ORCHESTRATOR, PARTICIPANTS, type ServiceBase } from "../lib/topology/mod.ts";

/**
 * V8 flags of every service process, as in the `run:*` tasks of deno.json: a 4 MiB young
 * generation instead of V8's 16 MiB keeps each service's peak RSS ≈ 30–60 MiB lower at the same
 * throughput and CPU (BENCHMARKS.md, memory).
 */
export const SERVICE_V8_FLAGS = "--v8-flags=--max-semi-space-size=4";

const ROOT = new URL("..", import.meta.url);

/** One process of the stack. */
export interface ProcessSpec {
  name: string;
  /** Entry module, relative to the repository root. */
  entry: string;
  /** URL that answers 200 once the process is ready. */
  readyUrl: string;
  /** Variables set for this process only, over the stack's `env` (e.g. a replica's port). */
  env?: Record<string, string>;
}

/** A running (or stopped) process of the stack. */
export interface ManagedProcess {
  spec: ProcessSpec;
  child: Deno.ChildProcess;
  /** Resolves with the exit status once the process ended. */
  exited: Promise<Deno.CommandStatus>;
}

/** Options of `startStack`. */
export interface StackOptions {
  /** Environment of every process (on top of this process's own). */
  env: Record<string, string>;
  /** Write each process's output to `<logDir>/<logName(name)>.log` instead of this terminal. */
  logDir?: string;
  /** How long a process may take to answer its ready URL (default 60 s). */
  readyTimeoutMs?: number;
}

/** The processes and how to control them. */
export interface Stack {
  processes: Map<string, ManagedProcess>;
  /** Sends `signal` to one process and waits for it to exit. */
  kill(name: string, signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  /**
   * Starts a stopped process again and waits until it is ready; rejects if it exits first or
   * is not ready in time (the other processes keep running).
   */
  restart(name: string): Promise<void>;
  /** Starts one more process (e.g. a second replica under another name) and waits until ready. */
  add(spec: ProcessSpec): Promise<void>;
  /** SIGTERM to all, in reverse order of start; waits for every exit. */
  stop(): Promise<void>;
}

const COLOURS = [36, 35, 33, 32, 34, 31];

/** The services in the order the supervisor starts them: the participants, then the orchestrator. */
export const SERVICES: readonly ServiceBase[] = [...PARTICIPANTS, ORCHESTRATOR];

/** The most replicas of each service the supervisor starts. */
export const MAX_REPLICAS = 16;

/** Options of `serviceSpecs`. */
export interface ServiceSpecsOptions {
  /** Processes of each service, each in its service's consumer group (default `SERVICE_REPLICAS`, else 1). */
  replicas?: number;
}

/**
 * The name of a service's `replica`th process (from 1): `payment` for the first, `payment#2` for
 * the second; its log file is `<logName>.log`.
 */
export function replicaName(service: string, replica: number): string {
  return replica === 1 ? service : `${service}#${replica}`;
}

/** The service a process name stands for: `payment` for `payment` and `payment#2`. */
export function serviceOf(name: string): string {
  return name.split("#")[0]!;
}

/** The file name (without `.log`) a process writes its output to: `payment-2` for `payment#2`. */
export function logName(name: string): string {
  return name.replace("#", "-");
}

/**
 * The variable holding the ops port of a service's `replica`th process: the service's own
 * (`PAYMENT_PORT`) for the first, `PAYMENT_PORT_2` for the second, and so on.
 */
export function replicaPortVariable(portVariable: string, replica: number): string {
  return replica === 1 ? portVariable : `${portVariable}_${replica}`;
}

/** Replicas of each service: `requested`, else `SERVICE_REPLICAS`, else 1; throws `RangeError`. */
export function replicasOf(env: Record<string, string | undefined>, requested?: number): number {
  const text = env.SERVICE_REPLICAS;
  const replicas = requested ?? (text === undefined || text.trim() === "" ? 1 : Number(text));
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS) {
    throw new RangeError(
      `Cannot start the services: replicas must be an integer from 1 to ${MAX_REPLICAS} ` +
        `(got ${requested ?? `SERVICE_REPLICAS="${text}"`})`,
    );
  }
  return replicas;
}

/**
 * The standard stack: the Stripe test server (unless a real key is set) and the four services,
 * each as `replicas` processes (see `replicaName`). A replica's ops port is its
 * `replicaPortVariable` when set, else its service's port plus 10 per replica (9113 for
 * `payment#2` by default).
 */
export function serviceSpecs(
  env: Record<string, string | undefined>,
  options: ServiceSpecsOptions = {},
): ProcessSpec[] {
  const replicas = replicasOf(env, options.replicas);
  const specs: ProcessSpec[] = [];
  if (!env.STRIPE_SECRET_KEY) {
    specs.push({
      name: "stripe",
      entry: "testing/stripe_test_server/main.ts",
      readyUrl: `http://127.0.0.1:${env.STRIPE_TEST_SERVER_PORT ?? 12111}/_test/faults`,
    });
  }
  for (let replica = 1; replica <= replicas; replica++) {
    for (const service of SERVICES) {
      const base = Number(env[service.portVariable] ?? service.opsPort);
      const port = env[replicaPortVariable(service.portVariable, replica)] ??
        String(base + 10 * (replica - 1));
      specs.push({
        name: replicaName(service.name, replica),
        entry: service.entry,
        readyUrl: `http://127.0.0.1:${port}/readyz`,
        ...(replica === 1 ? {} : { env: { [service.portVariable]: port } }),
      });
    }
  }
  return specs;
}

/** Starts every process in order, each once the previous is ready. */
export async function startStack(
  specs: readonly ProcessSpec[],
  options: StackOptions,
): Promise<Stack> {
  const processes = new Map<string, ManagedProcess>();
  const colourOf = new Map(specs.map((spec, i) => [spec.name, COLOURS[i % COLOURS.length]!]));
  const width = Math.max(...specs.map((spec) => spec.name.length));

  async function launch(spec: ProcessSpec): Promise<void> {
    const command = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", SERVICE_V8_FLAGS, spec.entry],
      cwd: ROOT,
      env: spec.env === undefined ? options.env : { ...options.env, ...spec.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
    const child = command.spawn();
    const prefix = `\x1b[${colourOf.get(spec.name)}m${spec.name.padEnd(width)} |\x1b[0m `;
    const sink = options.logDir === undefined
      ? null
      : await Deno.open(`${options.logDir}/${logName(spec.name)}.log`, {
        create: true,
        append: true,
      });
    // A service writes its lines in bursts: pass each burst on in one write, not one per line.
    const encoder = new TextEncoder();
    const writeLine = sink === null
      ? coalescingWriter((lines) => console.log(lines))
      : coalescingWriter((lines) => sink.writeSync(encoder.encode(lines + "\n")));
    const pump = (stream: ReadableStream<Uint8Array>) =>
      stream.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter()).pipeTo(
        new WritableStream({
          write(line) {
            writeLine(sink === null ? prefix + line : line);
          },
        }),
      );
    const pumped = Promise.all([pump(child.stdout), pump(child.stderr)]);
    const exited = child.status.then(async (status) => {
      await pumped.catch(() => {});
      sink?.close();
      return status;
    });
    processes.set(spec.name, { spec, child, exited });
    // waitFor keeps polling through errors, so an early exit is raced against it instead.
    let waiting = true;
    const exitedEarly = exited.then((status) => {
      if (waiting) {
        throw new Error(`${spec.name} exited with code ${status.code} before it was ready`);
      }
    });
    exitedEarly.catch(() => {});
    try {
      await Promise.race([
        waitFor(async () => {
          if (!waiting) return true;
          const response = await fetch(spec.readyUrl).catch(() => null);
          await response?.body?.cancel();
          return response?.ok === true;
        }, {
          timeoutMs: options.readyTimeoutMs ?? 60_000,
          intervalMs: 200,
          description: `${spec.name} to answer ${spec.readyUrl}`,
        }),
        exitedEarly.then(() => new Promise<never>(() => {})),
      ]);
    } catch (error) {
      // A process that never got ready is not left behind.
      await kill(spec.name, "SIGKILL");
      throw error;
    } finally {
      waiting = false;
    }
  }

  async function kill(name: string, signal: Deno.Signal = "SIGTERM") {
    const managed = processes.get(name);
    if (managed === undefined) throw new RangeError(`No process named "${name}"`);
    try {
      managed.child.kill(signal);
    } catch {
      // already gone
    }
    return await managed.exited;
  }

  async function stopAll() {
    for (const name of [...processes.keys()].reverse()) await kill(name);
  }

  try {
    for (const spec of specs) await launch(spec);
  } catch (error) {
    await stopAll();
    throw error;
  }
  return {
    processes,
    kill,
    async restart(name) {
      const managed = processes.get(name);
      if (managed === undefined) throw new RangeError(`No process named "${name}"`);
      if (await Promise.race([managed.exited, Promise.resolve(null)]) === null) {
        throw new RangeError(`Cannot restart "${name}": it is still running`);
      }
      await launch(managed.spec);
    },
    async add(spec) {
      if (processes.has(spec.name)) {
        throw new RangeError(`Cannot add process "${spec.name}": the name is taken`);
      }
      colourOf.set(spec.name, COLOURS[colourOf.size % COLOURS.length]!);
      await launch(spec);
    },
    stop: stopAll,
  };
}

function lineSplitter(): TransformStream<string, string> {
  let buffer = "";
  return new TransformStream({
    transform(chunk, controller) {
      const lines = (buffer + chunk).split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) controller.enqueue(line);
    },
    flush(controller) {
      if (buffer !== "") controller.enqueue(buffer);
    },
  });
}
