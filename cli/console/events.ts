/**
 * Live saga events for the console: one Redis connection subscribed to every order's status
 * channel (the channel the orchestrator and `saga retry` already publish on, lib/saga_status),
 * fanned out to the browsers as server-sent events.
 */
import type { Redis } from "ioredis";
import { type SagaStatusUpdate, statusChannel } from "../../lib/saga_status/mod.ts";

/** Listeners of saga status changes. */
export interface SagaEventHub {
  /** Whether updates come live from Redis (false: the pages poll). */
  readonly live: boolean;
  /** Calls `listener` on each update until the returned function is called. */
  listen(listener: (update: SagaStatusUpdate) => void): () => void;
  close(): Promise<void>;
}

/** A hub fed by `redis` (a connection for subscriptions only), or a silent one without Redis. */
export async function createEventHub(redis: Redis | null): Promise<SagaEventHub> {
  const listeners = new Set<(update: SagaStatusUpdate) => void>();
  let live = false;
  if (redis !== null) {
    const pattern = statusChannel("*");
    redis.on("pmessage", (_pattern: string, _channel: string, message: string) => {
      let update: SagaStatusUpdate;
      try {
        update = JSON.parse(message) as SagaStatusUpdate;
      } catch {
        return;
      }
      for (const listener of listeners) listener(update);
    });
    try {
      await redis.psubscribe(pattern);
      live = true;
      redis.on("close", () => (live = false));
      redis.on("ready", () => (live = true));
    } catch {
      live = false;
    }
  }
  return {
    get live() {
      return live;
    },
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      listeners.clear();
      if (redis !== null) await redis.punsubscribe().catch(() => {});
    },
  };
}

const encoder = new TextEncoder();

/** One server-sent event. */
export function sseEvent(event: string, data: string): Uint8Array {
  const lines = data.split(/\r?\n/).map((line) => `data: ${line}`).join("\n");
  return encoder.encode(`event: ${event}\n${lines}\n\n`);
}

/**
 * The response of `GET /events`: a `mode` event (`live` or `poll`), then a `saga` event for each
 * update (of one order when `orderId` is given), and a comment every 15 s to keep it open;
 * ends when the browser goes away or `closed` aborts.
 */
export function eventStream(
  hub: SagaEventHub,
  options: { orderId: string | null; signal: AbortSignal; closed: AbortSignal },
): Response {
  let stop = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (chunk: Uint8Array) => {
        try {
          controller.enqueue(chunk);
        } catch {
          stop();
        }
      };
      send(encoder.encode("retry: 2000\n\n"));
      send(sseEvent("mode", hub.live ? "live" : "poll"));
      const unlisten = hub.listen((update) => {
        if (options.orderId === null || update.orderId === options.orderId) {
          send(sseEvent("saga", JSON.stringify(update)));
        }
      });
      const ping = setInterval(() => send(encoder.encode(": ping\n\n")), 15_000);
      let stopped = false;
      stop = () => {
        if (stopped) return;
        stopped = true;
        unlisten();
        clearInterval(ping);
        try {
          controller.close();
        } catch { /* already closed */ }
      };
      options.signal.addEventListener("abort", stop, { once: true });
      options.closed.addEventListener("abort", stop, { once: true });
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}
