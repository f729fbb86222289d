import assert from "node:assert/strict";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { InfrastructureError, isInfrastructureFault } from "../../lib/errors/mod.ts";
import { createLogger } from "../../lib/log/mod.ts";
import {
  classifySmtpError,
  createLogChannel,
  createSmtpChannel,
  messageIdOf,
  type OutgoingNotification,
  type SmtpFailure,
} from "./channels.ts";
import { startTestSmtpServer } from "../../testing/smtp_test_server.ts";

function notification(recipient: string): OutgoingNotification {
  const orderId = crypto.randomUUID();
  return {
    orderId,
    notificationId: crypto.randomUUID(),
    recipient,
    subject: `Order ${orderId.slice(0, 8)} confirmed`,
    text: `Hello,\n\nOrder id: ${orderId}\n`,
  };
}

const refusals = (recipient: string) =>
  recipient.startsWith("nobody@")
    ? { responseCode: 550, message: "5.1.1 No such user here" }
    : recipient.startsWith("busy@")
    ? { responseCode: 451, message: "4.3.0 Mailbox busy, try later" }
    : undefined;

Deno.test("createLogChannel() writes the notification as one JSON line with its order id", async () => {
  const lines: string[] = [];
  const channel = createLogChannel(createLogger("notification", { write: (l) => lines.push(l) }));
  const sent = notification("ada@shop.example");
  assert.deepEqual(await channel.deliver(sent), { ok: true });
  assert.equal(channel.name, "log");
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0]!);
  assert.equal(line.level, "info");
  assert.equal(line.orderId, sent.orderId);
  assert.equal(line.notificationId, sent.notificationId);
  assert.equal(line.recipient, "ada@shop.example");
  assert.equal(line.text, sent.text);
});

Deno.test("createSmtpChannel() hands the message to the SMTP server", async () => {
  const server = await startTestSmtpServer(refusals);
  const channel = createSmtpChannel({ url: server.url, from: "orders@sagas.example" });
  try {
    const sent = notification("ada@shop.example");
    assert.deepEqual(await channel.deliver(sent), { ok: true });
    assert.equal(server.received.length, 1);
    const [message] = server.received;
    assert.equal(message!.from, "orders@sagas.example");
    assert.deepEqual(message!.to, ["ada@shop.example"]);
    assert.match(message!.data, new RegExp(`^Subject: ${sent.subject}\r$`, "m"));
    assert.match(message!.data, new RegExp(`^X-Order-Id: ${sent.orderId}\r$`, "mi"));
    assert.ok(message!.data.includes(`Order id: ${sent.orderId}`));
    assert.match(
      message!.data,
      new RegExp(`^Message-ID: <${sent.notificationId}@sagas\\.example>\r$`, "mi"),
    );
    assert.deepEqual(await channel.deliver(sent), { ok: true });
    assert.equal(
      /^Message-ID: (.*)\r$/mi.exec(server.received[1]!.data)?.[1],
      /^Message-ID: (.*)\r$/mi.exec(message!.data)?.[1],
      "delivered again, the same Message-ID",
    );
  } finally {
    await channel.close?.();
    await server.close();
  }
});

Deno.test("messageIdOf() derives the Message-ID from the notification id and the sender's domain", () => {
  const id = "6a1f0c4e-0001-4000-8000-00000000000a";
  assert.equal(messageIdOf(id, "orders@sagas.example"), `<${id}@sagas.example>`);
  assert.equal(messageIdOf(id, "Shop Orders <orders@shop.example> "), `<${id}@shop.example>`);
  assert.equal(messageIdOf(id, "no-address"), `<${id}@localhost>`);
});

Deno.test("createSmtpChannel() answers recipient_rejected when the server refuses the recipient with 550", async () => {
  const server = await startTestSmtpServer(refusals);
  const channel = createSmtpChannel({ url: server.url, from: "orders@sagas.example" });
  try {
    const sent = notification("nobody@shop.example");
    const result = await channel.deliver(sent);
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.code, "recipient_rejected");
    assert.match(
      !result.ok ? result.reason : "",
      new RegExp(
        `^The mail server refused the confirmation of order "${sent.orderId}" to "nobody@shop.example": 550 5.1.1 No such user here$`,
      ),
    );
    assert.equal(server.received.length, 0);
  } finally {
    await channel.close?.();
    await server.close();
  }
});

Deno.test("createSmtpChannel() throws InfrastructureError when the server defers the recipient with 451", async () => {
  const server = await startTestSmtpServer(refusals);
  const channel = createSmtpChannel({ url: server.url, from: "orders@sagas.example" });
  try {
    await assert.rejects(channel.deliver(notification("busy@shop.example")), (error: unknown) => {
      assert.ok(error instanceof InfrastructureError, `expected InfrastructureError, got ${error}`);
      assert.match(error.message, /Cannot hand the confirmation of order ".+" to the mail server:/);
      assert.match(error.message, /451 4\.3\.0 Mailbox busy/);
      return true;
    });
  } finally {
    await channel.close?.();
    await server.close();
  }
});

Deno.test("createSmtpChannel() throws InfrastructureError when the SMTP server is stopped (connection refused)", async () => {
  const server = await startTestSmtpServer();
  await server.close();
  const channel = createSmtpChannel({ url: server.url, from: "orders@sagas.example" });
  try {
    await assert.rejects(channel.deliver(notification("ada@shop.example")), (error: unknown) => {
      assert.ok(error instanceof InfrastructureError, `expected InfrastructureError, got ${error}`);
      assert.ok(isInfrastructureFault(error), "the consumer retries it without limit");
      assert.match(error.message, /ECONNREFUSED/);
      return true;
    });
  } finally {
    await channel.close?.();
  }
});

Deno.test("createSmtpChannel() throws InfrastructureError when the server never greets (timeout)", async () => {
  const sockets: Socket[] = [];
  const silent = createServer((socket) => sockets.push(socket));
  const port = await new Promise<number>((resolve) =>
    silent.listen(0, "127.0.0.1", () => resolve((silent.address() as AddressInfo).port))
  );
  const channel = createSmtpChannel({
    url: `smtp://127.0.0.1:${port}`,
    from: "orders@sagas.example",
    timeoutMs: 200,
  });
  try {
    await assert.rejects(channel.deliver(notification("ada@shop.example")), (error: unknown) => {
      assert.ok(error instanceof InfrastructureError, `expected InfrastructureError, got ${error}`);
      assert.equal((error.cause as { code?: string }).code, "ETIMEDOUT");
      return true;
    });
  } finally {
    await channel.close?.();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
});

const classified: Array<[string, Record<string, unknown>, SmtpFailure]> = [
  [
    "550 to RCPT TO",
    { code: "EENVELOPE", responseCode: 550, command: "RCPT TO" },
    "recipient_rejected",
  ],
  [
    "553 to RCPT TO",
    { code: "EENVELOPE", responseCode: 553, command: "RCPT TO" },
    "recipient_rejected",
  ],
  ["451 to RCPT TO", { code: "EENVELOPE", responseCode: 451, command: "RCPT TO" }, "unavailable"],
  ["503 to RCPT TO", { code: "EENVELOPE", responseCode: 503, command: "RCPT TO" }, "unavailable"],
  ["421 to DATA", { code: "EMESSAGE", responseCode: 421, command: "DATA" }, "unavailable"],
  [
    "550 to MAIL FROM",
    { code: "EENVELOPE", responseCode: 550, command: "MAIL FROM" },
    "unavailable",
  ],
  ["535 to AUTH PLAIN", { code: "EAUTH", responseCode: 535, command: "AUTH PLAIN" }, "unavailable"],
  ["554 to DATA", { code: "EMESSAGE", responseCode: 554, command: "DATA" }, "other"],
  ["ECONNECTION", { code: "ECONNECTION", command: "CONN" }, "unavailable"],
  ["ESOCKET (ECONNREFUSED)", { code: "ESOCKET", originalCode: "ECONNREFUSED" }, "unavailable"],
  ["ETIMEDOUT", { code: "ETIMEDOUT", command: "CONN" }, "unavailable"],
  ["EDNS", { code: "EDNS" }, "unavailable"],
  ["ETLS", { code: "ETLS" }, "unavailable"],
  ["a bare ECONNRESET", { code: "ECONNRESET" }, "unavailable"],
  ["an invalid recipient (local)", { code: "EENVELOPE", command: "API" }, "other"],
  ["a TypeError", new TypeError("boom") as unknown as Record<string, unknown>, "other"],
];
for (const [what, error, expected] of classified) {
  Deno.test(`classifySmtpError() calls ${what} ${expected}`, () => {
    assert.equal(classifySmtpError(error), expected);
  });
}

Deno.test("classifySmtpError() calls a thrown non-object other", () => {
  assert.equal(classifySmtpError("boom"), "other");
  assert.equal(classifySmtpError(null), "other");
});
