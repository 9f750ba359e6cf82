-- The store's webhook subscriptions as the product keeps them (perazzisync hooks, the worker's
-- subscription check), and the gaps a quiet subscription leaves for the reconciliation. Both in
-- perazzi_sync, which the API roles never see; written by the product's login, as the other
-- bookkeeping of the reconciliation is.

-- One row per store: the destination `hooks ensure` subscribed the store to, and the report of
-- the last check, which the health and metrics of every worker show.
create table perazzi_sync.bigcommerce_hook_checks (
  store_hash text primary key,
  destination text,
  check_started_at timestamptz,
  checked_at timestamptz,
  report jsonb
);

-- Changes of an entity type that a quiet subscription did not announce: each reconciliation
-- lists from `since`, whatever its watermark says, and the first to begin after `until` (when
-- the subscription delivers again) closes the gap.
create table perazzi_sync.reconcile_gaps (
  store_hash text not null,
  entity_type text not null,
  since timestamptz not null,
  until timestamptz not null,
  opened_at timestamptz not null default now(),
  primary key (store_hash, entity_type)
);
