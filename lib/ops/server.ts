/**
 * The small HTTP server every service runs on its own port for its operators: `GET /healthz`
 * (the process is alive), `GET /readyz` (its dependencies answer) and `GET /metrics`
 * (Prometheus). Built on `node:http` so it runs wherever the services do.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { DEFAULT_OPS_HOST } from "../config/defaults.ts";

/** A readiness check: resolves when the dependency answers, rejects (or hangs) when not. */
export type ReadinessCheck = () => Promise<void>;

/** What `/metrics` serves: a prom-client `Registry` fits. */
export interface MetricsSource {
  metrics(): Promise<string>;
  contentType: string;
}

/** Options for {@linkcode startOpsServer}. */
export interface OpsServerOptions {
  /** Port to listen on; 0 picks a free one (see {@linkcode OpsServer.port}). */
  port: number;
  /**
   * Address to listen on (default `127.0.0.1`: loopback only, DESIGN §9); `0.0.0.0` or `::`
   * when probes from outside the host must reach it (the services take it from `OPS_HOST`).
   */
  hostname?: string;
  /** Name of the service, echoed in the JSON answers. */
  service: string;
  /** Checks `/readyz` runs, by name (default none: always ready). */
  readinessChecks?: Record<string, ReadinessCheck>;
  /** Source of `/metrics`. */
  registry: MetricsSource;
  /** Milliseconds each readiness check may take before it counts as failed (default 2000). */
  checkTimeoutMs?: number;
}

/** A running ops server. */
export interface OpsServer {
  /** The port listened on (the one picked, when asked for 0). */
  port: number;
  /** The address listened on, as the socket reports it (e.g. `127.0.0.1`). */
  address: string;
  /** Stops listening and closes open connections; resolves when the server has closed. */
  close(): Promise<void>;
}

/** Result of one readiness check. */
export interface CheckResult {
  ok: boolean;
  durationMs: number;
  /** Why the check failed, when it did. */
  error?: string;
}

/** Results of all readiness checks, and the names of those that failed. */
export interface ReadinessReport {
  ready: boolean;
  failing: string[];
  checks: Record<string, CheckResult>;
}

/** Options for {@linkcode runReadinessChecks}. */
export interface ReadinessOptions {
  /** Milliseconds each check may take before it counts as failed (default 2000). */
  timeoutMs?: number;
}

/** Runs every check in parallel, each failing when it rejects or outlasts the timeout. */
export async function runReadinessChecks(
  checks: Record<string, ReadinessCheck>,
  options: ReadinessOptions = {},
): Promise<ReadinessReport> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      return [name, await runCheck(name, check, timeoutMs)] as const;
    }),
  );
  const failing = entries.filter(([, result]) => !result.ok).map(([name]) => name);
  return { ready: failing.length === 0, failing, checks: Object.fromEntries(entries) };
}

async function runCheck(
  name: string,
  check: ReadinessCheck,
  timeoutMs: number,
): Promise<CheckResult> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Check "${name}" timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([Promise.resolve().then(check), timeout]);
    return { ok: true, durationMs: elapsed(started) };
  } catch (error) {
    return { ok: false, durationMs: elapsed(started), error: describeError(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the ops server; resolves once it listens. */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const hostname = options.hostname ?? DEFAULT_OPS_HOST;
  const checks = options.readinessChecks ?? {};
  const timeoutMs = options.checkTimeoutMs ?? 2_000;
  const server = createServer(function handleOpsRequest(request, response) {
    route(request, response).catch((error) => {
      if (!response.headersSent) {
        sendJson(response, 500, { error: `Cannot answer ${request.url}: ${describeError(error)}` });
      } else {
        response.destroy();
      }
    });
  });

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? "/", "http://ops").pathname;
    const known = path === "/healthz" || path === "/readyz" || path === "/metrics";
    if (!known) {
      sendJson(response, 404, { error: `No such endpoint: ${path}` });
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.setHeader("allow", "GET, HEAD");
      sendJson(response, 405, { error: `Method ${request.method} not allowed on ${path}` });
      return;
    }
    if (path === "/healthz") {
      sendJson(response, 200, { status: "ok", service: options.service });
    } else if (path === "/readyz") {
      const report = await runReadinessChecks(checks, { timeoutMs });
      sendJson(response, report.ready ? 200 : 503, {
        status: report.ready ? "ready" : "not ready",
        service: options.service,
        ...(report.ready ? {} : { failing: report.failing }),
        checks: report.checks,
      });
    } else {
      const text = await options.registry.metrics();
      response.writeHead(200, {
        "content-type": options.registry.contentType,
        "cache-control": "no-store",
      });
      response.end(text);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) => {
      reject(
        new Error(
          `Cannot start the ops server of ${options.service} on ${hostname}:${options.port}: ` +
            describeError(error),
          { cause: error },
        ),
      );
    });
    server.listen(options.port, hostname, () => resolve());
  });

  let closing: Promise<void> | undefined;
  const bound = server.address() as AddressInfo;
  return {
    port: bound.port,
    address: bound.address,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
  });
  response.end(JSON.stringify(body));
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.message !== "") return error.message;
  // Node's AggregateError for a refused dual-stack connect has no message, only a code.
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : error.name;
}
