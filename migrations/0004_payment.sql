-- Payment: one payment per order and every refund attempt. A payment CANCELLED without a
-- PaymentIntent is a tombstone: a refund that came before its charge, so the late charge fails.
create table payment.payments (
  order_id          uuid primary key,
  status            text        not null
                      check (status in ('SUCCEEDED', 'DECLINED', 'REFUNDED', 'CANCELLED')),
  amount_cents      bigint      not null check (amount_cents >= 0),
  currency          text,
  payment_intent_id text,
  failure_code      text,
  failure_reason    text,
  created_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now()
);

create table payment.refunds (
  id               bigserial primary key,
  order_id         uuid        not null references payment.payments,
  command_id       uuid        not null,
  stripe_refund_id text,
  amount_cents     bigint      not null check (amount_cents >= 0),
  status           text        not null check (status in ('SUCCEEDED', 'FAILED')),
  failure_reason   text,
  created_at       timestamptz not null default now()
);
create index refunds_order on payment.refunds (order_id);
