-- Inventory: stock per product and one reservation per order. A reservation RELEASED with no
-- items is a tombstone: a release that came before its reservation, so the late reservation fails.
create table inventory.products (
  product_id  uuid primary key,
  sku         text        not null unique,
  name        text        not null,
  price_cents int         not null check (price_cents > 0),
  available   int         not null check (available >= 0),
  -- initial stock plus restocks: available + active reservations always equals it
  total_stock int         not null check (total_stock >= 0),
  updated_at  timestamptz not null default now()
);

create table inventory.reservations (
  order_id   uuid primary key,
  status     text        not null check (status in ('RESERVED', 'RELEASED')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table inventory.reservation_items (
  order_id   uuid not null references inventory.reservations,
  product_id uuid not null references inventory.products,
  quantity   int  not null check (quantity > 0),
  primary key (order_id, product_id)
);
