/**
 * The machine's own PostgreSQL and Redis for `deno task infra:up` without Docker: found,
 * started when installed but stopped, and waited for.
 *
 * @module
 */
import { tcpAnswers } from "../net.ts";
import { onPath, run, say } from "./process.ts";

const SERVICE_WAIT_MS = 30_000;

/** A service of the machine that infra:up makes sure answers. */
interface LocalService {
  name: string;
  address: string;
  variable: string;
  aptPackage: string;
  /** Starts the installed service, or resolves false when it is not installed. */
  start: () => Promise<boolean>;
}

/** A service that is not installed here: its name and Debian package. */
export type MissingService = Pick<LocalService, "name" | "aptPackage">;

/** The machine's PostgreSQL at `url`, started with pg_ctlcluster when installed but stopped. */
export function postgresService(url: URL): LocalService {
  const address = `${url.hostname}:${url.port || 5432}`;
  return {
    name: "PostgreSQL",
    address,
    variable: "DATABASE_URL",
    aptPackage: "postgresql",
    async start() {
      const versions = await postgresVersions();
      if (versions.length === 0 || !(await onPath("pg_ctlcluster"))) return false;
      const version = versions.at(-1)!;
      say(`PostgreSQL ${version} is stopped: starting it`);
      await run(
        "pg_ctlcluster",
        ["--skip-systemctl-redirect", version, "main", "start"],
        `Cannot start PostgreSQL ${version}`,
      );
      return true;
    },
  };
}

/** The machine's Redis at `url`, started (nothing kept on disk) when installed but stopped. */
export function redisService(url: URL): LocalService {
  const port = url.port || "6379";
  return {
    name: "Redis",
    address: `${url.hostname}:${port}`,
    variable: "REDIS_URL",
    aptPackage: "redis-server",
    async start() {
      if (!(await onPath("redis-server"))) return false;
      say("Redis is stopped: starting it");
      await run(
        "redis-server",
        [
          "--daemonize",
          "yes",
          "--bind",
          "127.0.0.1",
          "-::1",
          "--port",
          port,
          "--save",
          "",
          "--appendonly",
          "no",
        ],
        "Cannot start Redis",
      );
      return true;
    },
  };
}

/** Makes sure the service answers; resolves with it when it is missing from this machine. */
export async function ensureService(service: LocalService): Promise<MissingService | undefined> {
  if (await tcpAnswers(service.address)) {
    say(`${service.name} answers at ${service.address}`);
    return undefined;
  }
  const host = service.address.slice(0, service.address.lastIndexOf(":"));
  if (!["127.0.0.1", "localhost", "[::1]"].includes(host)) {
    throw new Error(
      `${service.name} does not answer at ${service.address} (from ${service.variable}) ` +
        `and is not local, so it cannot be started here`,
    );
  }
  if (!(await service.start())) return service;
  const deadline = Date.now() + SERVICE_WAIT_MS;
  while (!(await tcpAnswers(service.address))) {
    if (Date.now() > deadline) {
      throw new Error(
        `${service.name} was started but does not answer at ${service.address} ` +
          `after ${SERVICE_WAIT_MS / 1000} s`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  say(`${service.name} answers at ${service.address}`);
  return undefined;
}

async function postgresVersions(): Promise<string[]> {
  const versions: string[] = [];
  try {
    for await (const entry of Deno.readDir("/etc/postgresql")) {
      if (entry.isDirectory && /^\d+$/.test(entry.name)) versions.push(entry.name);
    }
  } catch {
    return [];
  }
  return versions.sort((a, b) => Number(a) - Number(b));
}

/** The database named in a PostgreSQL URL. */
export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
}
