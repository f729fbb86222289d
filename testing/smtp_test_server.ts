/** A real SMTP server in the test process (npm smtp-server), for testing the SMTP channel. */
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

/** A message the server accepted. */
export interface ReceivedMessage {
  from: string;
  to: string[];
  /** The DATA as sent: headers, blank line, body. */
  data: string;
  /** The body, decoded from its transfer encoding (7bit, 8bit or quoted-printable). */
  text: string;
}

/** A refusal of one recipient at RCPT TO. */
export interface Refusal {
  responseCode: number;
  message: string;
}

/** A running test SMTP server. */
export interface TestSmtpServer {
  /** `smtp://127.0.0.1:<port>` */
  url: string;
  /** Every message accepted so far, in order. */
  received: ReceivedMessage[];
  /** Stops listening and waits for open sessions to end. */
  close(): Promise<void>;
}

/**
 * Starts a server on a free port of 127.0.0.1 that accepts every recipient except those
 * `refuse` answers a refusal for. No TLS, no authentication.
 */
export async function startTestSmtpServer(
  refuse: (recipient: string) => Refusal | undefined = () => undefined,
): Promise<TestSmtpServer> {
  const received: ReceivedMessage[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onRcptTo(address, _session, callback) {
      const refusal = refuse(address.address);
      if (refusal === undefined) return callback();
      callback(Object.assign(new Error(refusal.message), { responseCode: refusal.responseCode }));
    },
    onData(stream, session, callback) {
      const chunks: Uint8Array[] = [];
      stream.on("data", (chunk: Uint8Array) => chunks.push(chunk));
      stream.on("end", () => {
        const mailFrom = session.envelope.mailFrom;
        const data = new TextDecoder().decode(concat(chunks));
        received.push({
          from: mailFrom === false ? "" : mailFrom.address,
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          data,
          text: bodyText(data),
        });
        callback();
      });
    },
  });
  const listening = await new Promise<AddressInfo>((resolve, reject) => {
    server.once("error", reject);
    const socket = server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve(socket.address() as AddressInfo);
    });
  });
  return {
    url: `smtp://127.0.0.1:${listening.port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((n, chunk) => n + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
}

/** The body of a single-part message, decoded when it is quoted-printable. */
export function bodyText(data: string): string {
  const split = data.indexOf("\r\n\r\n");
  const [head, body] = split < 0 ? [data, ""] : [data.slice(0, split), data.slice(split + 4)];
  if (!/^content-transfer-encoding:\s*quoted-printable\s*$/im.test(head)) return body;
  const bytes = new TextEncoder().encode(body.replace(/=\r\n/g, ""));
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const hex = String.fromCharCode(bytes[i + 1] ?? 0, bytes[i + 2] ?? 0);
    if (bytes[i] === 0x3d && /^[0-9A-F]{2}$/i.test(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      out.push(bytes[i]!);
    }
  }
  return new TextDecoder().decode(new Uint8Array(out));
}
