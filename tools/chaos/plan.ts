/**
 * The fault schedule of a chaos run, drawn from the seed: which fault, when (ms after the first
 * order), against what, for how long. Pure, so a seed replays the same schedule.
 */
import { replicaName, SERVICES } from "../../testing/supervisor.ts";
import type { Prng } from "../../testing/prng.ts";

/** Node ids of the run's 3-node cluster (`startPrivateCluster`): 1, 2 and 3. */
export const CLUSTER_NODES: readonly number[] = [1, 2, 3];

/** Every kind of fault a run can inject. */
export const FAULT_KINDS = [
  "kill",
  "replica",
  "broker",
  "broker-kill",
  "controller-kill",
  "broker-pause",
  "postgres",
  "redis",
  "stripe",
  "duplicate",
  "late",
  "poison",
] as const;

/** A kind of fault. */
export type FaultKind = typeof FAULT_KINDS[number];

/**
 * Faults that take a whole dependency (or one node of the cluster) away: run one at a time,
 * never overlapping, so that at most one of the cluster's three nodes is away at once.
 */
export const EXCLUSIVE_FAULTS: ReadonlySet<FaultKind> = new Set([
  "replica",
  "broker",
  "broker-kill",
  "controller-kill",
  "broker-pause",
  "postgres",
  "redis",
]);

/** Faults of one node of a 3-broker cluster (`--brokers 3`). */
export const CLUSTER_FAULTS: ReadonlySet<FaultKind> = new Set([
  "broker-kill",
  "controller-kill",
  "broker-pause",
]);

/** Faults of the run's single broker (stopped and started whole). */
export const SINGLE_BROKER_FAULTS: ReadonlySet<FaultKind> = new Set(["broker"]);

/** The brokers a run may have: one, or a 3-node cluster of its own. */
export type BrokerCount = 1 | 3;

/** The kinds that apply to a run with `brokers` brokers, in the order given. */
export function faultKindsFor(kinds: readonly FaultKind[], brokers: BrokerCount): FaultKind[] {
  const other = brokers === 3 ? SINGLE_BROKER_FAULTS : CLUSTER_FAULTS;
  return kinds.filter((kind) => !other.has(kind));
}

/** The services a `kill` fault picks from (one replica of it when there are several). */
export const KILLABLE_SERVICES: readonly string[] = SERVICES.map((service) => service.name);

/** One planned fault. */
export type PlannedFault =
  & { atMs: number }
  & (
    /** `process`: the replica killed, by its supervisor name (`payment`, `payment#2`). */
    | { kind: "kill"; service: string; process: string; downMs: number }
    /** `victim`: the replica stopped for longer than a consumer session, by name. */
    | { kind: "replica"; victim: string; downMs: number }
    | { kind: "broker"; downMs: number }
    /**
     * `node`: the cluster node SIGKILLed, started again once its partitions have new leaders
     * and `downMs` passed.
     */
    | { kind: "broker-kill"; node: number; downMs: number }
    /** The active controller (the quorum's leader when the fault starts) SIGKILLed, likewise. */
    | { kind: "controller-kill"; downMs: number }
    /** `node`: paused (SIGSTOP) for longer than a session (consumer 15 s, broker 9 s), resumed. */
    | { kind: "broker-pause"; node: number; downMs: number }
    | { kind: "postgres" }
    | { kind: "redis"; downMs: number }
    | { kind: "stripe"; errors: number; stalls: number; stallMs: number }
    | { kind: "duplicate"; commands: number; replies: number; copies: number }
    | { kind: "late"; late: number; reordered: number }
    | { kind: "poison" }
  );

/** Options of {@linkcode planFaults}. */
export interface FaultPlanOptions {
  kinds: readonly FaultKind[];
  /** The faults fall in [startMs, endMs] (ms after the first order). */
  startMs: number;
  endMs: number;
  /** SIGKILLs of each service (`kill`). */
  killsPerService: number;
  /** How many times each other kind is injected. */
  rounds: number;
  /** The orchestrator's step deadline: stalls outlast it, so replies come late. */
  stepTimeoutMs: number;
  /**
   * Processes of each service (default 1). With one, the `replica` fault stops one of two
   * orchestrators (the run adds `orchestrator#2`); with more, kills and the `replica` fault
   * each stop one replica of a service while the others carry on.
   */
  replicas?: number;
  /** Brokers of the run (default 1); the cluster faults need 3. */
  brokers?: BrokerCount;
}

/** The processes a `replica` fault picks its victim from, for `replicas` of each service. */
export function replicaVictims(replicas: number): string[] {
  if (replicas <= 1) return ["orchestrator", replicaName("orchestrator", 2)];
  return KILLABLE_SERVICES.flatMap((service) =>
    Array.from({ length: replicas }, (_, i) => replicaName(service, i + 1))
  );
}

/** Plans the faults, sorted by time; exclusive ones are spread over the window, one per slot. */
export function planFaults(rng: Prng, options: FaultPlanOptions): PlannedFault[] {
  const { startMs, endMs } = options;
  if (!(endMs >= startMs)) {
    throw new RangeError(`Cannot plan faults: the window ${startMs}–${endMs} ms is empty`);
  }
  const kinds = faultKindsFor(options.kinds, options.brokers ?? 1);
  const within = (from: number, to: number) => Math.round(rng.between(from, to));
  const anywhere = () => within(startMs, endMs);
  const replicas = options.replicas ?? 1;
  const faults: PlannedFault[] = [];
  if (kinds.includes("kill")) {
    for (const service of KILLABLE_SERVICES) {
      for (let i = 0; i < options.killsPerService; i++) {
        const atMs = anywhere();
        const downMs = within(200, 3_000);
        // One draw more only with replicas: a seed replays the same plan with one of each.
        const process = replicas <= 1 ? service : replicaName(service, rng.int(1, replicas));
        faults.push({ kind: "kill", atMs, service, process, downMs });
      }
    }
  }
  const exclusive = rng.shuffle(
    kinds.filter((kind) => EXCLUSIVE_FAULTS.has(kind))
      .flatMap((kind) => Array.from({ length: options.rounds }, () => kind)),
  );
  // In the first three quarters of the window: a fault may wait for the one before it to end,
  // and each should still meet orders in flight.
  const slot = (endMs - startMs) * 0.75 / Math.max(1, exclusive.length);
  exclusive.forEach((kind, i) => {
    const atMs = within(startMs + i * slot, startMs + (i + 0.5) * slot);
    switch (kind) {
      case "replica":
        faults.push({
          kind,
          atMs,
          victim: rng.pick(replicaVictims(replicas)),
          // Longer than a consumer session (15 s): the survivor takes every partition over.
          downMs: within(16_000, 20_000),
        });
        break;
      case "broker":
      case "controller-kill":
        faults.push({ kind, atMs, downMs: within(3_000, 8_000) });
        break;
      case "broker-kill":
        faults.push({ kind, atMs, node: rng.pick(CLUSTER_NODES), downMs: within(3_000, 8_000) });
        break;
      case "broker-pause":
        faults.push({ kind, atMs, node: rng.pick(CLUSTER_NODES), downMs: within(16_000, 20_000) });
        break;
      case "postgres":
        faults.push({ kind, atMs });
        break;
      case "redis":
        faults.push({ kind, atMs, downMs: within(5_000, 10_000) });
        break;
    }
  });
  for (let round = 0; round < options.rounds; round++) {
    if (kinds.includes("stripe")) {
      faults.push({
        kind: "stripe",
        atMs: anywhere(),
        errors: rng.int(8, 15),
        stalls: rng.int(1, 3),
        stallMs: options.stepTimeoutMs + 2_000,
      });
    }
    if (kinds.includes("duplicate")) {
      faults.push({
        kind: "duplicate",
        atMs: anywhere(),
        commands: rng.int(10, 30),
        replies: rng.int(5, 15),
        copies: rng.int(2, 4),
      });
    }
    if (kinds.includes("late")) {
      faults.push({
        kind: "late",
        atMs: anywhere(),
        late: rng.int(5, 15),
        reordered: rng.int(5, 15),
      });
    }
    if (kinds.includes("poison")) {
      // Late enough that completed sagas and sent commands exist to build some poison from.
      faults.push({ kind: "poison", atMs: within(startMs + (endMs - startMs) * 0.3, endMs) });
    }
  }
  return faults.sort((a, b) => a.atMs - b.atMs);
}

/** Parses a comma-separated list of fault kinds (`all` for every one); throws `RangeError`. */
export function parseFaultKinds(text: string): FaultKind[] {
  const names = text.split(",").map((name) => name.trim()).filter((name) => name !== "");
  if (names.length === 1 && names[0] === "all") return [...FAULT_KINDS];
  const kinds: FaultKind[] = [];
  for (const name of names) {
    if (!(FAULT_KINDS as readonly string[]).includes(name)) {
      throw new RangeError(
        `Unknown fault "${name}": use ${FAULT_KINDS.join(", ")} or all (comma-separated)`,
      );
    }
    if (!kinds.includes(name as FaultKind)) kinds.push(name as FaultKind);
  }
  return kinds;
}
