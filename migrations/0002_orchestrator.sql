-- The orchestrator's own data: orders, their items, sagas and every saga transition.
create table orchestrator.orders (
  order_id       uuid primary key,
  customer_id    uuid        not null,
  customer_email text        not null,
  currency       text        not null,
  payment_method text        not null,
  total_cents    bigint      not null check (total_cents >= 0),
  status         text        not null default 'PENDING'
                   check (status in ('PENDING', 'CONFIRMED', 'CANCELLED')),
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now()
);

create table orchestrator.order_items (
  order_id         uuid not null references orchestrator.orders on delete cascade,
  line_no          int  not null,
  product_id       uuid not null,
  quantity         int  not null check (quantity > 0),
  unit_price_cents int  not null check (unit_price_cents > 0),
  primary key (order_id, line_no)
);

create table orchestrator.sagas (
  saga_id            uuid primary key,
  order_id           uuid        not null unique references orchestrator.orders,
  saga_type          text        not null,
  status             text        not null check (status in ('STARTED', 'IN_PROGRESS',
                       'COMPLETED', 'COMPENSATING', 'COMPENSATED', 'FAILED',
                       'COMPENSATION_FAILED', 'CANCELLED')),
  completed_steps    int         not null default 0,
  compensations      int[]       not null default '{}',
  pending_step       int,
  pending_phase      text check (pending_phase in ('forward', 'compensation')),
  pending_command_id uuid,
  deadline_at        timestamptz,
  retry_count        int         not null default 0,
  next_retry_at      timestamptz,
  failure_step       int,
  failure_code       text,
  failure_reason     text,
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now()
);
-- The sweeps look only at sagas that wait on a deadline or a retry.
create index sagas_deadline on orchestrator.sagas (deadline_at) where deadline_at is not null;
create index sagas_next_retry on orchestrator.sagas (next_retry_at) where next_retry_at is not null;
create index sagas_status on orchestrator.sagas (status, created_at);

create table orchestrator.saga_history (
  id          bigserial primary key,
  saga_id     uuid        not null references orchestrator.sagas,
  from_status text,
  to_status   text        not null,
  step        text,
  event_type  text        not null,
  event_id    uuid,
  outcome     text        not null check (outcome in ('applied', 'ignored')),
  actor       text        not null,
  note        text        not null,
  at          timestamptz not null default now()
);
create index saga_history_saga on orchestrator.saga_history (saga_id, id);
