-- Atomic phases around every external call (DESIGN §5): the attempt is recorded in one short
-- transaction before the call, the outcome in another after it, so no transaction is open while
-- Stripe or the mail relay answers. A crash between the two leaves the attempt, and the command
-- redelivered (or any later command of the order) repeats the call it records.

-- Payment: a PENDING payment is a charge attempt: the idempotency key it is sent with (the
-- eventId of the command that made it) and the request, to be repeated as it was. The last
-- PaymentIntent status seen is kept too, so an attempt can later hold a non-final one.
alter table payment.payments
  drop constraint payments_status_check,
  add constraint payments_status_check
    check (status in ('PENDING', 'SUCCEEDED', 'DECLINED', 'REFUNDED', 'CANCELLED')),
  add column attempt_key    uuid,
  add column payment_method text,
  add column intent_status  text,
  add constraint payments_pending_attempt
    check (status <> 'PENDING' or (attempt_key is not null and payment_method is not null));

-- A PENDING refund is a refund attempt under the key `command_id`; one at a time per order.
alter table payment.refunds
  drop constraint refunds_status_check,
  add constraint refunds_status_check check (status in ('PENDING', 'SUCCEEDED', 'FAILED')),
  add column updated_at timestamptz not null default now();
create unique index refunds_one_pending on payment.refunds (order_id) where status = 'PENDING';

-- Notification: a SENDING notification is a delivery attempt; its id is the eventId of the
-- command that made it, and the message's Message-ID is derived from it, so a repeated delivery
-- is the same message. One attempt at a time per order.
alter table notification.notifications
  drop constraint notifications_status_check,
  add constraint notifications_status_check check (status in ('SENDING', 'SENT', 'FAILED')),
  add column updated_at timestamptz not null default now();
create unique index notifications_one_sending on notification.notifications (order_id)
  where status = 'SENDING';
