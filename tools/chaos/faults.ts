/**
 * Carrying out planned faults against a running test stack: SIGKILL and restart of one replica
 * of a service (briefly, or for longer than a consumer session), the run's own broker and Redis
 * stopped and started, one node of the run's own cluster SIGKILLed (any, or the active
 * controller) or paused past a session, a PostgreSQL restart, Stripe answering 500s and
 * stalling, and the record faults (duplicates, late replies, poison). Each returns a line saying
 * what was done.
 */
import type { Kafka, Producer } from "kafkajs";
import { sleep } from "../../lib/async/mod.ts";
import type { Sql } from "../../lib/db/mod.ts";
import { errorMessage } from "../../lib/errors/mod.ts";
import { TOPICS } from "../../lib/messages/mod.ts";
import type { Stack } from "../../testing/supervisor.ts";
import type { PostgresFault, PrivateBroker, PrivateCluster, PrivateRedis } from "./infra.ts";
import type { PlannedFault } from "./plan.ts";
import { buildPoison, INJECTION_HEADER, type PoisonRecord, producePoison } from "./poison.ts";
import type { Prng } from "../../testing/prng.ts";
import { duplicateRecords, lateReplies, readAll } from "./records.ts";
import type { PlacedOrder } from "./orders.ts";

/** What the fault runner works on. */
export interface FaultContext {
  stack: Stack;
  stripeUrl: string;
  broker: PrivateBroker | null;
  /** The run's 3-node cluster (`--brokers 3`), whose nodes the cluster faults take away. */
  cluster: PrivateCluster | null;
  redis: PrivateRedis | null;
  postgres: PostgresFault | null;
  /** A client of the run's namespace. */
  kafka: Kafka;
  /** The run's (namespaced) producer. */
  producer: Producer;
  sql: Sql;
  rng: Prng;
  /** Orders placed so far. */
  placed(): readonly PlacedOrder[];
  /** Places one more order (a probe) outside the plan; it is checked like every other one. */
  placeProbe(): Promise<PlacedOrder>;
}

/** A fault as it happened. */
export interface FaultOutcome {
  fault: PlannedFault;
  startedAt: Date;
  endedAt: Date;
  /** What was done, for the log and the report. */
  detail: string;
  /** Set when the fault could not be carried out (e.g. a service that would not come back). */
  error?: string;
  /** Poison produced by a `poison` fault. */
  poison?: PoisonRecord[];
  /** EventIds of replies sent late or out of order by a `late` fault. */
  lateEventIds?: string[];
}

/** Restarts a killed process, retrying like a process supervisor would (e.g. while a dependency is down). */
export async function restartWithRetries(stack: Stack, name: string): Promise<number> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= 6; attempt++) {
    try {
      await stack.restart(name);
      return attempt;
    } catch (error) {
      lastError = error;
      await sleep(Math.min(10_000, 1_000 * 2 ** (attempt - 1)));
    }
  }
  throw new Error(`Cannot restart ${name} after 6 attempts: ${errorMessage(lastError)}`);
}

async function killAndRestart(stack: Stack, name: string, downMs: number): Promise<string> {
  const status = await stack.kill(name, "SIGKILL");
  await sleep(downMs);
  const started = performance.now();
  const attempts = await restartWithRetries(stack, name);
  const took = ((performance.now() - started) / 1000).toFixed(1);
  return `${name} killed (${
    status.signal ?? status.code
  }), down ${downMs} ms, ready again ${took} s later` +
    (attempts > 1 ? ` (attempt ${attempts})` : "");
}

const secondsSince = (started: number) => ((performance.now() - started) / 1000).toFixed(1);

/**
 * Waits until node `node` leads no partition (the controller fenced it and moved its
 * leaderships, after `broker.session.timeout.ms`); the seconds that took, or null after 60 s.
 */
async function leadershipsMoved(
  cluster: PrivateCluster,
  node: number,
  started: number,
): Promise<string | null> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await cluster.partitionsLedBy(node) === 0) return secondsSince(started);
    await sleep(250);
  }
  return null;
}

/**
 * Takes node `node` of the cluster away (`away`: a SIGKILL or a pause) for at least `downMs` and
 * until its leaderships moved, and brings it back (`back`). First it waits until every replica
 * is in sync (a node back from the fault before may still be catching up), so that no partition
 * is left with one replica in sync; the other faults need not wait for that.
 */
async function nodeAway(
  cluster: PrivateCluster,
  node: () => Promise<number>,
  downMs: number,
  steps: { what: string; away(node: number): Promise<void>; back(node: number): Promise<void> },
): Promise<string> {
  const waited = performance.now();
  await cluster.waitInSync({ timeoutMs: 180_000 });
  const insync = secondsSince(waited);
  const victim = await node();
  const led = await cluster.partitionsLedBy(victim);
  const started = performance.now();
  await steps.away(victim);
  const moved = await leadershipsMoved(cluster, victim, started);
  await sleep(Math.max(0, downMs - (performance.now() - started)));
  const down = Math.round(performance.now() - started);
  const back = performance.now();
  await steps.back(victim);
  return `node ${victim} ${steps.what} (after ${insync} s waiting for every replica in sync), ` +
    `leader of ${led ?? "?"} partitions: ` +
    (moved === null ? "leaders not moved within 60 s" : `new leaders ${moved} s later`) +
    `; back after ${down} ms, answering ${secondsSince(back)} s later`;
}

async function setStripeFault(stripeUrl: string, fault: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${stripeUrl}/_test/faults`, {
    method: "POST",
    body: JSON.stringify(fault),
  });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`Cannot set the Stripe fault: HTTP ${response.status}`);
}

async function stripeFaultsLeft(stripeUrl: string): Promise<number> {
  const response = await fetch(`${stripeUrl}/_test/faults`);
  const state = await response.json() as { mode: string; remaining: number | null };
  return state.mode === "ok" ? 0 : state.remaining ?? 1;
}

async function waitForStripeFaults(stripeUrl: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await stripeFaultsLeft(stripeUrl).catch(() => 1) === 0) return true;
    await sleep(250);
  }
  return false;
}

/** Runs `fn` again while it fails (Kafka or PostgreSQL may be away for a while), up to ~60 s. */
async function whileKafkaIsAway<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= 12) throw error;
      await sleep(5_000);
    }
  }
}

/** Saga transitions applied since `since`, once there are `minimum` or `timeoutMs` passed. */
async function waitForProgress(
  sql: Sql,
  since: Date,
  minimum: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let applied = 0;
  while (true) {
    try {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from orchestrator.saga_history
        where outcome = 'applied' and at >= ${since}`;
      applied = row?.n ?? 0;
    } catch {
      // asked again below
    }
    if (applied >= minimum || Date.now() >= deadline) return applied;
    await sleep(250);
  }
}

/** How many of the orders' sagas are final once they all are, or once `timeoutMs` passed. */
async function waitForFinalSagas(
  sql: Sql,
  orderIds: readonly string[],
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let finished = 0;
  while (true) {
    try {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from orchestrator.sagas
        where order_id in ${sql(orderIds)}
          and status in ('COMPLETED', 'COMPENSATED', 'FAILED', 'CANCELLED', 'COMPENSATION_FAILED')`;
      finished = row?.n ?? 0;
    } catch {
      // asked again below
    }
    if (finished === orderIds.length || Date.now() >= deadline) return finished;
    await sleep(250);
  }
}

/** Carries out one planned fault; never throws (a failure is reported in `error`). */
export async function injectFault(
  context: FaultContext,
  fault: PlannedFault,
): Promise<FaultOutcome> {
  const startedAt = new Date();
  const outcome = (detail: string, extra: Partial<FaultOutcome> = {}): FaultOutcome => ({
    fault,
    startedAt,
    endedAt: new Date(),
    detail,
    ...extra,
  });
  try {
    switch (fault.kind) {
      case "kill":
        return outcome(await killAndRestart(context.stack, fault.process, fault.downMs));
      case "replica":
        return outcome(
          `replica ${await killAndRestart(context.stack, fault.victim, fault.downMs)}`,
        );
      case "broker": {
        const broker = context.broker!;
        await broker.stop();
        await sleep(fault.downMs);
        const started = performance.now();
        await broker.start();
        return outcome(
          `broker stopped for ${fault.downMs} ms, answering again ${
            ((performance.now() - started) / 1000).toFixed(1)
          } s after start`,
        );
      }
      case "broker-kill":
      case "controller-kill": {
        const cluster = context.cluster!;
        const controller = fault.kind === "controller-kill";
        return outcome(
          await nodeAway(
            cluster,
            async () => fault.kind === "broker-kill" ? fault.node : await cluster.quorumLeader(),
            fault.downMs,
            {
              what: `killed (SIGKILL)${controller ? " as the active controller" : ""}`,
              away: (node) => cluster.kill(node),
              back: (node) => cluster.start(node),
            },
          ),
        );
      }
      case "broker-pause": {
        const cluster = context.cluster!;
        return outcome(
          await nodeAway(cluster, () => Promise.resolve(fault.node), fault.downMs, {
            what: "paused (SIGSTOP)",
            away: (node) => cluster.pause(node),
            back: (node) => cluster.resume(node),
          }),
        );
      }
      case "postgres": {
        const postgres = context.postgres!;
        const started = performance.now();
        await postgres.inject();
        return outcome(
          `${postgres.mode === "restart" ? "restarted" : "connections cut:"} ${postgres.target}, ` +
            `answering again after ${Math.round(performance.now() - started)} ms`,
        );
      }
      case "redis": {
        // Sagas must keep flowing without the status cache: it stays down until saga transitions
        // were seen applied meanwhile (orders are placed while it is down, so there is work).
        const redis = context.redis!;
        await redis.stop();
        const stoppedAt = new Date();
        try {
          const probes = [];
          for (let i = 0; i < 3; i++) probes.push(await context.placeProbe());
          await sleep(fault.downMs);
          const moved = await waitForProgress(context.sql, stoppedAt, 10, 60_000);
          const finished = await waitForFinalSagas(
            context.sql,
            probes.map((probe) => probe.planned.order.orderId),
            0,
          );
          const downMs = Date.now() - stoppedAt.getTime();
          const detail = `redis stopped for ${downMs} ms: ${moved} saga transitions applied ` +
            `meanwhile, ${finished} of the ${probes.length} orders placed meanwhile finished`;
          return moved < 10
            ? outcome(detail, { error: `sagas did not flow while Redis was down (${detail})` })
            : outcome(detail);
        } finally {
          await redis.start();
        }
      }
      case "stripe": {
        await setStripeFault(context.stripeUrl, { mode: "error500", count: fault.errors });
        const drained = await waitForStripeFaults(context.stripeUrl, 30_000);
        await setStripeFault(context.stripeUrl, {
          mode: "stall",
          stallMs: fault.stallMs,
          count: fault.stalls,
        });
        const stalled = await waitForStripeFaults(context.stripeUrl, 60_000);
        // Whatever was not used up is not left behind for the rest of the run.
        await fetch(`${context.stripeUrl}/_test/reset`, { method: "POST" })
          .then((response) => response.body?.cancel());
        return outcome(
          `${fault.errors} HTTP 500s${drained ? "" : " (not all used)"}, then ${fault.stalls} ` +
            `answer(s) held ${fault.stallMs} ms${stalled ? "" : " (not all used)"}`,
        );
      }
      case "duplicate": {
        const sent = await whileKafkaIsAway(() =>
          duplicateRecords(context.kafka, context.producer, context.rng, fault)
        );
        return outcome(
          `${sent.commands} commands and ${sent.replies} replies delivered ${fault.copies} more ` +
            `times (${sent.published} records)`,
        );
      }
      case "late": {
        const sent = await whileKafkaIsAway(() =>
          lateReplies(context.kafka, context.producer, context.sql, context.rng, fault)
        );
        return outcome(
          `${sent.late.length} replies after their saga ended, ${sent.reordered.length} answering a command ` +
            `no longer awaited`,
          { lateEventIds: [...sent.late, ...sent.reordered] },
        );
      }
      case "poison": {
        const placed = context.placed();
        const placedOrder = context.rng.pick(placed).planned.record;
        const payments = (await whileKafkaIsAway(() =>
          readAll(context.kafka, [TOPICS.paymentCommands])
        )).filter((record) =>
          record.headers[INJECTION_HEADER] === undefined &&
          record.headers.metadata?.includes('"PROCESS_PAYMENT"')
        );
        const [completed] = await context.sql<{ order_id: string }[]>`
          select order_id from orchestrator.sagas where status = 'COMPLETED'
          order by updated_at desc limit 1`;
        const poison = buildPoison(context.rng, {
          placedOrder,
          paymentCommand: payments.length === 0 ? null : context.rng.pick(payments),
          completed: completed === undefined ? null : { orderId: completed.order_id },
        });
        // Each record is produced once, however many attempts it takes.
        await whileKafkaIsAway(() =>
          producePoison(context.kafka, poison)
        );
        return outcome(`${poison.length} poison records produced`, { poison });
      }
    }
  } catch (error) {
    return outcome("failed", { error: errorMessage(error) });
  }
}
