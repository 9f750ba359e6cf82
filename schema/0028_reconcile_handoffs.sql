-- The malformed entities the reconciliation handed to their consumers (which dead-letter them),
-- one row per entity with the version handed over: the digest of its listing entry. A firing that
-- lists the same entry again (its overlap does, for minutes) hands nothing over; a changed entry
-- is handed over again (docs/sync-rules.md, Reconciliation). Written by the product's login, as
-- the reconciliation's other bookkeeping is; the API roles never see perazzi_sync.
create table perazzi_sync.reconcile_handoffs (
  store_hash text not null,
  entity_type text not null,
  entity_id bigint not null,
  version text not null,
  handed_at timestamptz not null default now(),
  primary key (store_hash, entity_type, entity_id)
);
