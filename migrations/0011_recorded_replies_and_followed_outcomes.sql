-- A repeated command is answered from its record (DESIGN §4): each idempotency key keeps the
-- reply it was answered with, so the same command sent again (the same eventId) gets the same
-- reply again, found by its key, without being applied twice. A command that awaits an outcome
-- still moving (a PaymentIntent `processing`, a refund `pending`: DESIGN §5) keeps its key
-- claimed with no reply yet, and the command itself, to be decided again once the outcome is
-- final; nothing answers it before.
do $$
declare
  service text;
begin
  foreach service in array array['orchestrator', 'inventory', 'payment', 'notification'] loop
    execute format($sql$
      alter table %I.processed_messages
        add column order_id   uuid,
        add column reply_type text,
        add column reply_body text,
        add column awaiting   boolean not null default false,
        add column command    text,
        add constraint processed_messages_awaiting_command
          check (not awaiting or (command is not null and order_id is not null))$sql$, service);
    execute format(
      'create index processed_messages_awaiting on %I.processed_messages (order_id) where awaiting',
      service);
  end loop;
end
$$;

-- Payment: an outcome still moving is followed until it is final. A PENDING payment with a
-- PaymentIntent whose status is `processing`, and a PENDING refund with a Stripe refund id (Stripe
-- answered `pending`), are read again at `follow_at`, later each time.
alter table payment.payments
  add column follow_at    timestamptz,
  add column follow_polls integer not null default 0;
create index payments_followed on payment.payments (follow_at)
  where status = 'PENDING' and payment_intent_id is not null;

alter table payment.refunds
  add column follow_at    timestamptz,
  add column follow_polls integer not null default 0;
create index refunds_followed on payment.refunds (follow_at)
  where status = 'PENDING' and stripe_refund_id is not null;
