import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { InfrastructureError } from "../../lib/errors/mod.ts";
import { createLogger } from "../../lib/log/mod.ts";
import { encodeMessage, type SendNotification, TOPICS } from "../../lib/messages/mod.ts";
import { createCommandConsumer } from "../../lib/participant/mod.ts";
import { withTestDatabase } from "../../testing/db.ts";
import { asConsumed } from "../../testing/kafka.ts";
import { capturingLogger } from "../../testing/log.ts";
import { replyTypes, withParticipant } from "../../testing/participant.ts";
import type { ParticipantHarness } from "../../testing/participant.ts";
import {
  createLogChannel,
  createSmtpChannel,
  type DeliveryChannel,
  type OutgoingNotification,
} from "./channels.ts";
import { createNotificationCommands, createNotificationMetrics } from "./handlers.ts";
import { startTestSmtpServer } from "../../testing/smtp_test_server.ts";

const [mug, tee] = ["aaaaaaaa-0000-4000-8000-000000000000", "bbbbbbbb-0000-4000-8000-000000000000"];

function sendNotification(customerEmail: string): SendNotification {
  return {
    orderId: crypto.randomUUID(),
    customerEmail,
    currency: "usd",
    totalCents: 4997,
    items: [
      { productId: mug, quantity: 2, unitPriceCents: 1999 },
      { productId: tee, quantity: 1, unitPriceCents: 999 },
    ],
  };
}

/** A channel that records what it is given before passing it on. */
function spy(channel: DeliveryChannel): DeliveryChannel & { delivered: OutgoingNotification[] } {
  const delivered: OutgoingNotification[] = [];
  return {
    name: channel.name,
    delivered,
    deliver(notification) {
      delivered.push(notification);
      return channel.deliver(notification);
    },
  };
}

function withNotification(
  channel: DeliveryChannel,
  fn: (harness: ParticipantHarness) => Promise<void>,
  metrics = createNotificationMetrics(new Registry()),
) {
  return withParticipant({
    name: "notification",
    schema: "notification",
    commandTopic: TOPICS.notificationCommands,
    replyTopic: TOPICS.notificationReplies,
    commands: createNotificationCommands({ channel, metrics }),
  }, fn);
}

interface Row {
  notification_id: string;
  recipient: string;
  subject: string;
  body: string;
  channel: string;
  status: string;
  failure_reason: string | null;
}

async function rows(harness: ParticipantHarness, orderId: string): Promise<Row[]> {
  return [
    ...await harness.runtime.sql<Row[]>`
    select notification_id, recipient, subject, body, channel, status, failure_reason
    from notification.notifications where order_id = ${orderId} order by created_at`,
  ];
}

Deno.test("notification replies NOTIFICATION_SENT and records the confirmation it delivered to the log", async () => {
  const lines: string[] = [];
  const channel = spy(
    createLogChannel(createLogger("notification", { write: (l) => lines.push(l) })),
  );
  const metrics = createNotificationMetrics(new Registry());
  await withNotification(channel, async (harness) => {
    const body = sendNotification("ada@shop.example");
    const { orderId } = body;
    const eventId = await harness.send({ eventType: "SEND_NOTIFICATION", body });
    const [reply] = await harness.replies(orderId, 1);
    assert.deepEqual(replyTypes([reply!]), ["NOTIFICATION_SENT"]);
    assert.equal(JSON.parse(reply!.headers.metadata!).causationId, eventId);
    const { notificationId } = JSON.parse(reply!.value!);

    const [row, ...more] = await rows(harness, orderId);
    assert.equal(more.length, 0);
    assert.equal(row!.notification_id, notificationId);
    assert.equal(row!.status, "SENT");
    assert.equal(row!.channel, "log");
    assert.equal(row!.recipient, "ada@shop.example");
    assert.equal(row!.subject, `Order ${orderId.slice(0, 8)} confirmed`);
    assert.equal(row!.failure_reason, null);
    assert.ok(row!.body.includes(`  2 x product ${mug} at $19.99 each: $39.98`), row!.body);
    assert.ok(row!.body.includes(`  1 x product ${tee} at $9.99 each: $9.99`), row!.body);
    assert.ok(row!.body.includes("Total: $49.97"), row!.body);
    assert.ok(row!.body.includes(`Order id: ${orderId}`), row!.body);

    const logged = lines.map((line) => JSON.parse(line)).filter((l) => l.orderId === orderId);
    assert.equal(logged.length, 1, "one JSON log line with the order id");
    assert.equal(logged[0].notificationId, notificationId);
    assert.equal(logged[0].text, row!.body);
    const counted = (await metrics.notifications.get()).values;
    assert.deepEqual(counted.map((v) => [v.labels, v.value]), [[
      { channel: "log", outcome: "sent" },
      1,
    ]]);
  }, metrics);
});

Deno.test("notification fails an address on the .invalid domain without contacting the channel", async () => {
  const channel = spy(createLogChannel(createLogger("notification", { level: "error" })));
  await withNotification(channel, async (harness) => {
    const body = sendNotification("ada@Shop.INVALID");
    await harness.send({ eventType: "SEND_NOTIFICATION", body });
    const [reply] = await harness.replies(body.orderId, 1);
    assert.deepEqual(replyTypes([reply!]), ["NOTIFICATION_FAILED"]);
    const failure = JSON.parse(reply!.value!);
    assert.equal(failure.orderId, body.orderId);
    assert.equal(failure.code, "undeliverable_address");
    assert.match(failure.reason, /"ada@Shop\.INVALID" is on the reserved \.invalid domain/);
    const [row, ...more] = await rows(harness, body.orderId);
    assert.equal(more.length, 0);
    assert.equal(row!.status, "FAILED");
    assert.equal(row!.failure_reason, failure.reason);
    assert.equal(channel.delivered.length, 0, "no channel contacted");
  });
});

Deno.test("notification answers a command delivered 5 times 5 times from its record, and a new command for the sent order, sending once", async () => {
  const channel = spy(createLogChannel(createLogger("notification", { level: "error" })));
  await withNotification(channel, async (harness) => {
    const body = sendNotification("ada@shop.example");
    const { orderId } = body;
    const eventId = crypto.randomUUID();
    const sagaId = crypto.randomUUID();
    for (let i = 0; i < 5; i++) {
      await harness.send({ eventType: "SEND_NOTIFICATION", body, eventId, sagaId });
    }
    // A new command afterwards proves the five were handled: replies come in order per order id.
    const againId = await harness.send({ eventType: "SEND_NOTIFICATION", body, sagaId });
    const replies = await harness.replies(orderId, 6);
    assert.deepEqual(replyTypes(replies), Array(6).fill("NOTIFICATION_SENT"));
    const metadata = replies.map((r) => JSON.parse(r.headers.metadata!));
    assert.deepEqual(metadata.map((m) => m.causationId), [...Array(5).fill(eventId), againId]);
    assert.equal(new Set(replies.slice(0, 5).map((r) => r.value)).size, 1, "one reply, repeated");
    const ids = new Set(replies.map((r) => JSON.parse(r.value!).notificationId));
    assert.equal(ids.size, 1, "the same notification id every time");
    const [sent] = ids;
    assert.equal(channel.delivered.length, 1, "delivered once");
    assert.deepEqual((await rows(harness, orderId)).map((r) => r.notification_id), [sent]);
    const [{ n }] = await harness.runtime.sql<{ n: number }[]>`
      select count(*)::int as n from notification.processed_messages` as unknown as [
      { n: number },
    ];
    assert.equal(n, 2, "two distinct commands recorded");
  });
});

Deno.test("notification sends through a real SMTP server, and fails a recipient the server rejects with 550", async () => {
  const server = await startTestSmtpServer((recipient) =>
    recipient.startsWith("nobody@")
      ? { responseCode: 550, message: "5.1.1 No such user here" }
      : undefined
  );
  const channel = createSmtpChannel({ url: server.url, from: "orders@sagas.example" });
  const metrics = createNotificationMetrics(new Registry());
  try {
    await withNotification(channel, async (harness) => {
      const accepted = sendNotification("ada@shop.example");
      const rejected = sendNotification("nobody@shop.example");
      await harness.send({ eventType: "SEND_NOTIFICATION", body: accepted });
      await harness.send({ eventType: "SEND_NOTIFICATION", body: rejected });
      const [sent] = await harness.replies(accepted.orderId, 1);
      const [failed] = await harness.replies(rejected.orderId, 1);

      assert.deepEqual(replyTypes([sent!, failed!]), ["NOTIFICATION_SENT", "NOTIFICATION_FAILED"]);
      assert.equal(server.received.length, 1, "only the accepted one reached the server");
      const [message] = server.received;
      assert.deepEqual(message!.to, ["ada@shop.example"]);
      assert.equal(message!.from, "orders@sagas.example");
      assert.match(message!.data, new RegExp(`^X-Order-Id: ${accepted.orderId}\r$`, "mi"));
      assert.ok(message!.text.includes(`Order id: ${accepted.orderId}`), message!.text);
      assert.ok(message!.text.includes(`1 x product ${tee} at $9.99 each: $9.99`), message!.text);
      assert.match(
        message!.data,
        new RegExp(`^Subject: Order ${accepted.orderId.slice(0, 8)} confirmed\r$`, "m"),
      );
      assert.equal((await rows(harness, accepted.orderId))[0]!.status, "SENT");

      const failure = JSON.parse(failed!.value!);
      assert.equal(failure.code, "recipient_rejected");
      assert.match(failure.reason, /550 5\.1\.1 No such user here/);
      const [row] = await rows(harness, rejected.orderId);
      assert.equal(row!.status, "FAILED");
      assert.equal(row!.channel, "smtp");
      assert.equal(row!.failure_reason, failure.reason);
      const counted = (await metrics.notifications.get()).values
        .map((v) => `${v.labels.channel}/${v.labels.outcome}=${v.value}`).sort();
      assert.deepEqual(counted, ["smtp/failed=1", "smtp/sent=1"]);
    }, metrics);
  } finally {
    await channel.close?.();
    await server.close();
  }
});

Deno.test("SEND_NOTIFICATION throws InfrastructureError when the SMTP server is stopped, leaving its attempt unsent and its key unclaimed", async () => {
  const server = await startTestSmtpServer();
  await server.close();
  const channel = createSmtpChannel({ url: server.url, from: "orders@sagas.example" });
  const record = encodeMessage({
    eventType: "SEND_NOTIFICATION",
    body: sendNotification("ada@shop.example"),
    sagaId: crypto.randomUUID(),
  });
  try {
    await withTestDatabase(async (db) => {
      const handle = createCommandConsumer({
        sql: db.sql,
        schema: "notification",
        log: createLogger("notification", { level: "error" }),
        commands: createNotificationCommands({ channel }),
      });
      const signal = new AbortController().signal;
      await assert.rejects(handle([asConsumed(record)], { signal }), InfrastructureError);
      const [{ sending, sent, claimed }] = await db.sql<
        { sending: number; sent: number; claimed: number }[]
      >`
        select (select count(*)::int from notification.notifications where status = 'SENDING')
            as sending,
          (select count(*)::int from notification.notifications where status <> 'SENDING')
            as sent,
          (select count(*)::int from notification.processed_messages) as claimed` as unknown as [
        { sending: number; sent: number; claimed: number },
      ];
      assert.deepEqual({ sending, sent, claimed }, { sending: 1, sent: 0, claimed: 0 });
    });
  } finally {
    await channel.close?.();
  }
});

Deno.test("notification delivers each confirmation of a chunk once when the SMTP server refuses the 3rd for now", async () => {
  let refused = 0;
  const server = await startTestSmtpServer((recipient) => {
    if (!recipient.startsWith("third@") || refused > 0) return undefined;
    refused++;
    return { responseCode: 451, message: "4.3.0 Try again later" };
  });
  const channel = createSmtpChannel({ url: server.url, from: "orders@sagas.example" });
  try {
    await withNotification(channel, async (harness) => {
      const bodies = ["first", "second", "third", "fourth"].map((name) =>
        sendNotification(`${name}@shop.example`)
      );
      const eventIds = await harness.sendAll(
        bodies.map((body) => ({ eventType: "SEND_NOTIFICATION" as const, body })),
        { partition: 0 },
      );
      for (const body of bodies) {
        // The chunk is retried one command at a time after the refusal: a command answered
        // before it is answered again from its record, with the same reply.
        const replies = await harness.replies(body.orderId, 1);
        assert.deepEqual(new Set(replyTypes(replies)), new Set(["NOTIFICATION_SENT"]));
        assert.equal(new Set(replies.map((r) => r.value)).size, 1);
      }
      assert.equal(refused, 1, "the 3rd was refused once");
      const delivered = server.received.map((message) => message.to.join());
      assert.deepEqual(delivered.toSorted(), [
        "first@shop.example",
        "fourth@shop.example",
        "second@shop.example",
        "third@shop.example",
      ], "each delivered exactly once");
      for (const [index, message] of server.received.entries()) {
        const eventId = eventIds[bodies.findIndex((b) => b.customerEmail === message.to[0])];
        assert.match(
          message.data,
          new RegExp(`^Message-ID: <[^>]*${eventId}[^>]*>\r$`, "mi"),
          `message ${index} carries a Message-ID derived from its command`,
        );
      }
    });
  } finally {
    await channel.close?.();
    await server.close();
  }
});

Deno.test("notification logs one info line per command: the participant's, with a failure's code and reason; the log channel's delivery apart", async () => {
  const delivery = capturingLogger("notification");
  const logChannel = createLogChannel(delivery.log);
  const channel: DeliveryChannel = {
    name: logChannel.name,
    deliver: (notification) =>
      notification.recipient.startsWith("nobody@")
        ? Promise.resolve({ ok: false, code: "recipient_rejected", reason: "No such user here" })
        : logChannel.deliver(notification),
  };
  await withTestDatabase(async (db) => {
    const { log, lines } = capturingLogger("notification");
    const handle = createCommandConsumer({
      sql: db.sql,
      schema: "notification",
      log,
      commands: createNotificationCommands({ channel }),
    });
    const bodies = ["ada@shop.example", "ada@Shop.INVALID", "nobody@shop.example"].map(
      sendNotification,
    );
    for (const [offset, body] of bodies.entries()) {
      const record = encodeMessage({
        eventType: "SEND_NOTIFICATION",
        body,
        sagaId: crypto.randomUUID(),
      });
      await handle([asConsumed(record, offset)], { signal: new AbortController().signal });
    }
    const [sent, invalid, rejected] = bodies.map((body) => body.orderId);
    assert.deepEqual(
      lines.map(({ level, msg, orderId, reply, code }) => [level, msg, orderId, reply, code]),
      [
        ["info", "Command handled", sent, "NOTIFICATION_SENT", undefined],
        ["info", "Command handled", invalid, "NOTIFICATION_FAILED", "undeliverable_address"],
        ["info", "Command handled", rejected, "NOTIFICATION_FAILED", "recipient_rejected"],
      ],
    );
    assert.equal(lines[2]!.reason, "No such user here");
    // The log channel's line is the delivery itself (the confirmation), not a line of the hop.
    assert.deepEqual(
      delivery.lines.map(({ level, msg, orderId }) => [level, msg, orderId]),
      [["info", "Notification delivered to the log", sent]],
    );
  });
});
