/**
 * Infrastructure a chaos run may break without breaking anyone else's: a Kafka broker of its own
 * (scripts/kafka_local.sh with a data directory and ports of its own) or a 3-node KRaft cluster
 * of its own whose nodes are killed, stopped, paused and started one at a time, a Redis server
 * of its own, and the PostgreSQL restart (the shared server, in a window of a second or two: the only
 * fault here that other users of the machine notice; without a local cluster it falls back to
 * cutting the run's own database connections).
 */
import { fileURLToPath } from "node:url";
import kafkajs from "kafkajs";
import { waitFor } from "../../lib/async/mod.ts";
import { createKafka } from "../../lib/kafka/client.ts";
import { waitForKafka } from "../../lib/kafka/topics.ts";
import { closeDb, connectDb } from "../../lib/db/mod.ts";
import { freePort, freePortRun, tcpAnswers } from "../../testing/net.ts";
import { CLUSTER_NODES } from "./plan.ts";

const KAFKA_LOCAL = fileURLToPath(new URL("../../scripts/kafka_local.sh", import.meta.url));

async function run(command: string, args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(command, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (!output.success) {
    throw new Error(`Cannot run ${command} ${args.join(" ")}: exit ${output.code}: ${text.trim()}`);
  }
  return text;
}

/** A broker of the run's own: stopped and started at will, wiped at the end. */
export interface PrivateBroker {
  /** Bootstrap servers, `127.0.0.1:<port>`. */
  brokers: string[];
  /** Stops the broker (SIGTERM, as `kafka_local.sh down` does). */
  stop(): Promise<void>;
  /** Starts it again and waits until it answers. */
  start(): Promise<void>;
  /** Stops it and deletes its data. */
  dispose(): Promise<void>;
}

/** Formats and starts a single-node broker on free ports in a temporary data directory. */
export async function startPrivateBroker(): Promise<PrivateBroker> {
  const dataDir = await Deno.makeTempDir({ prefix: "sagas-chaos-kafka-" });
  const port = freePort();
  const env = {
    KAFKA_DATA_DIR: dataDir,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(freePort()),
  };
  const brokers = [`127.0.0.1:${port}`];
  async function start() {
    await run("bash", [KAFKA_LOCAL, "up"], env);
    const kafka = createKafka({
      brokers,
      clientId: "chaos-broker-check",
      logLevel: kafkajs.logLevel.NOTHING,
    });
    await waitForKafka(kafka, { timeoutMs: 90_000 });
  }
  async function stop() {
    await run("bash", [KAFKA_LOCAL, "down"], env);
  }
  try {
    await start();
  } catch (error) {
    await stop().catch(() => {});
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    throw error;
  }
  return {
    brokers,
    start,
    stop,
    async dispose() {
      await stop();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

/** A 3-node KRaft cluster of the run's own (every node broker and controller), node by node. */
export interface PrivateCluster {
  /** Bootstrap servers, every node: `127.0.0.1:<port>`, node n at index n - 1. */
  brokers: string[];
  /** The environment that points scripts/kafka_local.sh and scripts/infra.ts at this cluster. */
  env: Record<string, string>;
  /** Node `node`'s client address. */
  addressOf(node: number): string;
  /** SIGKILL to the node's process; resolves once it is gone (no clean shutdown). */
  kill(node: number): Promise<void>;
  /** SIGTERM to the node, a clean shutdown (its leaderships moved away first). */
  stop(node: number): Promise<void>;
  /** Starts the node again (data kept) and waits until it answers and sees every node. */
  start(node: number): Promise<void>;
  /** SIGSTOP: the node's process stays, silent, until `resume` (e.g. past a session timeout). */
  pause(node: number): Promise<void>;
  /** SIGCONT to a paused node. */
  resume(node: number): Promise<void>;
  /** The node's pid, or null when it is not running. */
  pid(node: number): Promise<number | null>;
  /**
   * The node id of the quorum's leader, the active controller: the leader of the latest epoch
   * any node recorded (each voter writes its `quorum-state` file when it learns of a leader;
   * read at once, where asking a controller starts a JVM: tens of seconds on a busy machine).
   */
  quorumLeader(): Promise<number>;
  /**
   * How many partitions node `node` leads, asked of the other nodes with short timeouts (a
   * paused node accepts connections and never answers); undefined when none of them answers.
   */
  partitionsLedBy(node: number): Promise<number | undefined>;
  /** Waits until every replica of every partition is in sync again (after a node came back). */
  waitInSync(options?: { timeoutMs?: number }): Promise<void>;
  /** Kills every node (SIGKILL) and deletes the cluster's data. */
  dispose(): Promise<void>;
}

/**
 * Formats and starts a 3-node cluster (`kafka_local.sh --brokers 3`) on free ports in a temporary
 * data directory, and resolves once every node is registered.
 */
export async function startPrivateCluster(): Promise<PrivateCluster> {
  const dataDir = await Deno.makeTempDir({ prefix: "sagas-chaos-cluster-" });
  const base = freePortRun(2 * CLUSTER_NODES.length);
  const env = { KAFKA_DATA_DIR: dataDir, KAFKA_PORT: String(base) };
  const brokers = CLUSTER_NODES.map((node) => `127.0.0.1:${base + 2 * (node - 1)}`);
  const script = (...args: string[]) =>
    run("bash", [KAFKA_LOCAL, "--brokers", String(CLUSTER_NODES.length), ...args], env);
  const nodeArg = (node: number) => {
    if (!CLUSTER_NODES.includes(node)) {
      throw new RangeError(`Cannot act on node ${node}: the cluster's nodes are 1, 2 and 3`);
    }
    return String(node);
  };
  const admin = (bootstrap: string[]) =>
    createKafka({
      brokers: bootstrap,
      clientId: "chaos-cluster",
      logLevel: kafkajs.logLevel.NOTHING,
    })
      .admin();
  async function waitAnswers(bootstrap: string[]) {
    const kafka = createKafka({
      brokers: bootstrap,
      clientId: "chaos-cluster-check",
      logLevel: kafkajs.logLevel.NOTHING,
    });
    await waitForKafka(kafka, { timeoutMs: 120_000, minBrokers: CLUSTER_NODES.length });
  }
  const cluster: PrivateCluster = {
    brokers,
    env,
    addressOf: (node) => brokers[Number(nodeArg(node)) - 1]!,
    async kill(node) {
      await script("kill-node", nodeArg(node));
    },
    async stop(node) {
      await script("stop-node", nodeArg(node));
    },
    async start(node) {
      await script("start-node", nodeArg(node));
      // Asked of that node alone: it answers once it serves metadata again.
      await waitAnswers([cluster.addressOf(node)]);
    },
    async pause(node) {
      await script("pause-node", nodeArg(node));
    },
    async resume(node) {
      await script("resume-node", nodeArg(node));
    },
    async pid(node) {
      const output = await new Deno.Command("bash", {
        args: [KAFKA_LOCAL, "--brokers", String(CLUSTER_NODES.length), "pid-node", nodeArg(node)],
        env,
        stdout: "piped",
        stderr: "null",
      }).output();
      return output.success ? Number(new TextDecoder().decode(output.stdout).trim()) : null;
    },
    async quorumLeader() {
      let latest: { leaderId: number; leaderEpoch: number } | undefined;
      for (const node of CLUSTER_NODES) {
        const path = `${dataDir}/node-${node}/data/__cluster_metadata-0/quorum-state`;
        const state = await Deno.readTextFile(path)
          .then((text) => JSON.parse(text) as { leaderId: number; leaderEpoch: number })
          .catch(() => undefined);
        if (state === undefined || state.leaderId < 0) continue;
        if (latest === undefined || state.leaderEpoch > latest.leaderEpoch) latest = state;
      }
      // None recorded one yet (a cluster still starting): ask the controllers.
      return latest?.leaderId ?? Number((await script("quorum-leader")).trim());
    },
    async partitionsLedBy(node) {
      const others = brokers.filter((_, i) => i + 1 !== Number(nodeArg(node)));
      const client = new kafkajs.Kafka({
        brokers: others,
        clientId: "chaos-cluster-leaders",
        connectionTimeout: 1_000,
        requestTimeout: 5_000,
        retry: { retries: 0 },
        logLevel: kafkajs.logLevel.NOTHING,
      }).admin();
      try {
        await client.connect();
        const { topics } = await client.fetchTopicMetadata({ topics: await client.listTopics() });
        return topics.flatMap((topic) => topic.partitions).filter((p) => p.leader === node).length;
      } catch {
        return undefined;
      } finally {
        await client.disconnect().catch(() => {});
      }
    },
    async waitInSync(options = {}) {
      const client = admin(brokers);
      await client.connect();
      try {
        await waitFor(async () => {
          const topics = await client.listTopics();
          const { topics: described } = await client.fetchTopicMetadata({ topics });
          return described.every((topic) =>
            topic.partitions.every((p) => p.isr.length === p.replicas.length)
          );
        }, {
          timeoutMs: options.timeoutMs ?? 120_000,
          intervalMs: 500,
          description: "every replica of the cluster's partitions in sync",
        });
      } finally {
        await client.disconnect();
      }
    },
    async dispose() {
      // SIGKILL: the data goes, so a clean shutdown (leaders moved first, up to seconds a node)
      // would buy nothing.
      await Promise.all(
        CLUSTER_NODES.map((node) => script("kill-node", String(node)).catch(() => {})),
      );
      await script("down");
      await Deno.remove(dataDir, { recursive: true });
    },
  };
  try {
    await script("up");
    await waitAnswers(brokers);
  } catch (error) {
    await script("down").catch(() => {});
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    throw error;
  }
  return cluster;
}

/** A Redis server of the run's own, on a free port, keeping nothing on disk. */
export interface PrivateRedis {
  url: string;
  /** Stops the server (SIGTERM: it shuts down without saving). */
  stop(): Promise<void>;
  /** Starts it again on the same port and waits until it accepts connections. */
  start(): Promise<void>;
  /** Stops it for good. */
  dispose(): Promise<void>;
}

/** Starts `redis-server` (which must be on PATH) on a free port. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = freePort();
  let child: Deno.ChildProcess | null = null;
  async function start() {
    if (child !== null) return;
    try {
      child = new Deno.Command("redis-server", {
        args: [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--save",
          "",
          "--appendonly",
          "no",
          "--daemonize",
          "no",
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
    } catch (error) {
      throw new Error(`Cannot start a Redis server of the run's own: ${error}`, { cause: error });
    }
    await waitFor(() => tcpAnswers(`127.0.0.1:${port}`, 500), {
      timeoutMs: 10_000,
      intervalMs: 50,
      description: `redis-server on port ${port}`,
    });
  }
  async function stop() {
    const running = child;
    if (running === null) return;
    child = null;
    try {
      running.kill("SIGTERM");
    } catch {
      // gone already
    }
    await running.status;
  }
  await start();
  return { url: `redis://127.0.0.1:${port}`, start, stop, dispose: stop };
}

/**
 * The fallback where `redis-server` is not installed (e.g. Redis runs in a container): a TCP
 * proxy in front of `targetUrl` that the run cuts. Stopped, it drops every connection and
 * refuses new ones, which is what a client sees of a stopped server; the server itself, which
 * others may use, is never touched.
 */
export async function startRedisProxy(targetUrl: string): Promise<PrivateRedis> {
  const target = new URL(targetUrl);
  const port = freePort();
  let listener: Deno.Listener | null = null;
  const open = new Set<Deno.Conn>();
  function start(): Promise<void> {
    if (listener !== null) return Promise.resolve();
    const serving = Deno.listen({ hostname: "127.0.0.1", port });
    listener = serving;
    (async () => {
      for await (const client of serving) {
        open.add(client);
        Deno.connect({ hostname: target.hostname, port: Number(target.port || 6379) }).then(
          (server) => {
            open.add(server);
            const close = () => {
              for (const conn of [client, server]) {
                open.delete(conn);
                try {
                  conn.close();
                } catch {
                  // closed already
                }
              }
            };
            client.readable.pipeTo(server.writable).catch(() => {}).finally(close);
            server.readable.pipeTo(client.writable).catch(() => {}).finally(close);
          },
          () => {
            open.delete(client);
            client.close();
          },
        );
      }
    })().catch(() => {});
    return Promise.resolve();
  }
  function stop(): Promise<void> {
    listener?.close();
    listener = null;
    for (const conn of open) {
      try {
        conn.close();
      } catch {
        // closed already
      }
    }
    open.clear();
    return Promise.resolve();
  }
  await start();
  const auth = target.username || target.password ? `${target.username}:${target.password}@` : "";
  return { url: `redis://${auth}127.0.0.1:${port}${target.pathname}`, start, stop, dispose: stop };
}

/** How a PostgreSQL outage is made. */
export type PostgresFaultMode = "restart" | "terminate";

/** A PostgreSQL outage for the run's database. */
export interface PostgresFault {
  /**
   * `restart`: the local cluster serving the database is restarted (`pg_ctlcluster … restart`,
   * fast mode): every connection drops and new ones are refused until it is back. `terminate`:
   * every connection to the run's own database is cut (no local cluster to restart).
   */
  mode: PostgresFaultMode;
  /** Describes the target, e.g. `cluster 15/main`. */
  target: string;
  /** Breaks it once and returns only when it answers again. */
  inject(): Promise<void>;
}

/**
 * The PostgreSQL fault for `databaseUrl`: a restart of the local cluster on that port when
 * `pg_ctlcluster` can do it, else cutting the database's connections (`mode` forces one).
 */
export async function postgresFault(
  databaseUrl: string,
  options: { mode?: PostgresFaultMode } = {},
): Promise<PostgresFault> {
  const url = new URL(databaseUrl);
  const cluster = options.mode === "terminate" ? null : await localCluster(url);
  if (cluster === null && options.mode === "restart") {
    throw new Error(
      `Cannot restart PostgreSQL: no local cluster (pg_lsclusters) serves port ${url.port || 5432}`,
    );
  }
  if (cluster !== null) {
    const [version, name] = cluster;
    return {
      mode: "restart",
      target: `cluster ${version}/${name}`,
      async inject() {
        try {
          await run("pg_ctlcluster", ["--skip-systemctl-redirect", version, name, "restart"]);
        } finally {
          // Never leave the shared server down, whatever the restart said.
          await ensureClusterOnline(version, name);
        }
        await waitUntilPostgresAnswers(databaseUrl);
      },
    };
  }
  return {
    mode: "terminate",
    target: `database ${url.pathname.slice(1)}`,
    async inject() {
      const sql = connectDb(databaseUrl, { max: 1, applicationName: "chaos" });
      try {
        await sql`select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid()`;
      } finally {
        await closeDb(sql);
      }
    },
  };
}

async function localCluster(url: URL): Promise<[string, string] | null> {
  if (!["127.0.0.1", "localhost", "::1", "[::1]"].includes(url.hostname)) return null;
  let listing: string;
  try {
    listing = await run("pg_lsclusters", ["--no-header"]);
    await run("sh", ["-c", "command -v pg_ctlcluster"]);
  } catch {
    return null;
  }
  const port = url.port || "5432";
  for (const line of listing.split("\n")) {
    const [version, name, clusterPort] = line.trim().split(/\s+/);
    if (version !== undefined && name !== undefined && clusterPort === port) return [version, name];
  }
  return null;
}

async function ensureClusterOnline(version: string, name: string) {
  const listing = await run("pg_lsclusters", ["--no-header", version, name]).catch(() => "");
  if (!/\bonline\b/.test(listing)) {
    await run("pg_ctlcluster", ["--skip-systemctl-redirect", version, name, "start"]);
  }
}

async function waitUntilPostgresAnswers(databaseUrl: string) {
  await waitFor(async () => {
    const sql = connectDb(databaseUrl, {
      max: 1,
      applicationName: "chaos",
      connectTimeoutSeconds: 2,
    });
    try {
      await sql`select 1`;
      return true;
    } finally {
      await closeDb(sql);
    }
  }, { timeoutMs: 60_000, intervalMs: 100, description: "PostgreSQL to answer again" });
}
