-- What the BigCommerce sync needs beyond the seed: the archive mark on orders, and its own
-- bookkeeping in the perazzi_sync schema, which the API roles (anon, authenticated) never see.

-- store/order/archived keeps the order and records when it was archived (SPEC section 4).
alter table commerce_orders add column archived_at timestamptz;

grant usage on schema perazzi_sync to service_role;

-- Valid events that cannot be attributed yet: guest orders, customers without a confirmed
-- portal user (SPEC section 7). One row per source entity; a repeat updates it.
create table perazzi_sync.parked_events (
  id uuid primary key default gen_random_uuid(),
  source_system text not null,
  source_key text not null,
  reason text not null,
  message_type text not null,
  message jsonb not null,
  message_id text,
  attempts integer not null default 1,
  first_seen_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  resolved_at timestamptz,
  constraint parked_events_source_unique unique (source_system, source_key)
);
create index parked_events_open_idx on perazzi_sync.parked_events (last_seen_at)
  where resolved_at is null;
grant select, insert, update on perazzi_sync.parked_events to service_role;

-- When the last fetch that was applied had started, per entity. A callback received before
-- that moment is already covered and may skip its own fetch (SPEC section 4).
create table perazzi_sync.entity_fetches (
  store_hash text not null,
  entity_type text not null,
  entity_id bigint not null,
  fetch_started_at timestamptz not null,
  primary key (store_hash, entity_type, entity_id)
);
grant select, insert, update on perazzi_sync.entity_fetches to service_role;

-- The BigCommerce request budget of each store, shared by every worker replica: BigCommerce
-- counts requests per store, not per client.
create table perazzi_sync.api_budget (
  store_hash text primary key,
  window_ends_at timestamptz not null,
  requests_left integer not null
);

-- How far the reconciliation has listed each store's orders and customers.
create table perazzi_sync.reconcile_watermarks (
  store_hash text not null,
  entity_type text not null,
  modified_since timestamptz not null,
  primary key (store_hash, entity_type)
);

-- Scheduled jobs run in every worker; the first to claim a firing runs it.
create table perazzi_sync.job_firings (
  job_name text not null,
  scheduled_at timestamptz not null,
  claimed_by text not null,
  claimed_at timestamptz not null default now(),
  primary key (job_name, scheduled_at)
);
