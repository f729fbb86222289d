/**
 * Local network helpers for stacks, tools and infra scripts: free ports and a TCP probe. One
 * place, so every stack picks ports and checks reachability the same way.
 *
 * @module
 */
import { connect } from "node:net";

/** `count` distinct free local TCP ports (free when asked: held together, then released). */
export function freePorts(count: number): number[] {
  const listeners = Array.from(
    { length: count },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((listener) => (listener.addr as Deno.NetAddr).port);
  for (const listener of listeners) listener.close();
  return ports;
}

/** One free local TCP port (free when asked; good enough for test processes). */
export function freePort(): number {
  return freePorts(1)[0]!;
}

/** The first of `count` consecutive free local ports (a cluster's brokers and controllers). */
export function freePortRun(count: number): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    const listeners: Deno.Listener[] = [];
    try {
      for (let port = base; port < base + count; port++) {
        listeners.push(Deno.listen({ hostname: "127.0.0.1", port }));
      }
      return base;
    } catch {
      // One of them is taken: try elsewhere.
    } finally {
      for (const listener of listeners) listener.close();
    }
  }
  throw new Error(`Cannot find ${count} consecutive free ports on 127.0.0.1 after 50 tries`);
}

/** Resolves true when a TCP connection to `host:port` opens within the timeout. */
export function tcpAnswers(address: string, timeoutMs = 2_000): Promise<boolean> {
  const index = address.lastIndexOf(":");
  const host = address.slice(0, index).replace(/^\[|\]$/g, "");
  const port = Number(address.slice(index + 1));
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
