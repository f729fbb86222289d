-- Notification: every confirmation rendered, with the channel that carried it and the outcome.
create table notification.notifications (
  notification_id uuid primary key,
  order_id        uuid        not null,
  recipient       text        not null,
  subject         text        not null,
  body            text        not null,
  channel         text        not null,
  status          text        not null check (status in ('SENT', 'FAILED')),
  failure_reason  text,
  created_at      timestamptz not null default now()
);
create index notifications_order on notification.notifications (order_id);
