/**
 * The Redis client every service shares: ioredis, connecting at once, failing commands fast
 * while the server is away so a service keeps running (and says so on `/readyz`) instead of
 * stalling.
 */
import { Redis } from "ioredis";

/** The ioredis client class, re-exported for typing. */
export type { Redis };

/** Options for {@linkcode connectRedis}. */
export interface ConnectRedisOptions {
  /** `CLIENT SETNAME` shown by `CLIENT LIST` (default none). */
  connectionName?: string;
  /** Reconnection attempts a command waits through before it fails (default 1). */
  maxRetriesPerRequest?: number;
  /**
   * Queue commands sent while disconnected until the connection is back or
   * `maxRetriesPerRequest` is spent (default true). With false, such a command fails at once,
   * including one sent before the first connection is up.
   */
  enableOfflineQueue?: boolean;
  /** Milliseconds to wait for a connection to open (default 5000). */
  connectTimeoutMs?: number;
  /**
   * Called with each connection error (the client keeps reconnecting). Without it ioredis
   * prints each one to the console itself.
   */
  onError?: (error: Error) => void;
}

/** Creates a client for `url` (`redis://[:password@]host[:port][/db]`) that starts connecting now. */
export function connectRedis(url: string, options: ConnectRedisOptions = {}): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 1,
    enableOfflineQueue: options.enableOfflineQueue ?? true,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    ...(options.connectionName === undefined ? {} : { connectionName: options.connectionName }),
  });
  if (options.onError !== undefined) redis.on("error", options.onError);
  return redis;
}

/**
 * Closes the client: `QUIT` when connected (pending replies arrive first), else at once.
 * Resolves when the connection has ended (or after 2 s, should it never report so).
 */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === "end") return;
  if (redis.status === "reconnecting") {
    // Between attempts no socket is open: clearing the retry timer is all there is to do (and
    // ioredis emits no "end" for it).
    redis.disconnect();
    return;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ended = new Promise<void>((resolve) => {
    redis.once("end", resolve);
    timer = setTimeout(resolve, 2_000);
  });
  try {
    if (redis.status === "ready") {
      try {
        await redis.quit();
      } catch {
        // The connection broke while quitting: drop it instead.
        redis.disconnect();
      }
    } else {
      redis.disconnect();
    }
    await ended;
  } finally {
    clearTimeout(timer);
  }
}
