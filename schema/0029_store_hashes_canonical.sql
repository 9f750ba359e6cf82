-- BigCommerce__StoreHash is read trimmed and with ASCII capitals lowered since the hosts check it
-- (src/PerazziSync.Contracts/BigCommerceStoreHash.cs). A deployment that ran before with the hash
-- configured as, say, '  ABC123 ' kept its bookkeeping under that spelling, and the worker, now
-- asking for 'abc123', found none of it: the reconciliation began again from its first look-back
-- and the last subscription check was forgotten. Every perazzi_sync row keyed by the hash is moved
-- to the canonical spelling, where that spelling is a valid hash (letters and digits, at most 32);
-- a hash that is not stays as it is, since no host can be configured with it now. Rows two
-- spellings left for the same key are merged as the sync stays safe (each rule below). The audit
-- log keeps the spelling each row was written with: it records what happened.

-- The hash as the hosts read it, or null when it is not a valid one. .NET's Trim drops the
-- characters char.IsWhiteSpace names, all listed here; only ASCII letters are lowered, so a
-- letter outside ASCII (the Kelvin sign) stays and fails the check, as it does at start.
create function pg_temp.canonical_store_hash(hash text) returns text
language sql immutable as $$
  select c from (
    select translate(
      btrim(hash, E' \t\n\u000b\f\r' || U&'\0085\00A0\1680\2000\2001\2002\2003\2004\2005\2006\2007\2008\2009\200A\2028\2029\202F\205F\3000'),
      'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') as c
  ) as t
  where c ~ '^[0-9a-z]{1,32}$'
$$;

-- Reconciliation watermarks: the earliest is kept. A later one would skip the changes between the
-- two; the earlier one lists some again, which the sync applies as no change.
delete from perazzi_sync.reconcile_watermarks w
using perazzi_sync.reconcile_watermarks e
where pg_temp.canonical_store_hash(w.store_hash) = pg_temp.canonical_store_hash(e.store_hash)
  and w.entity_type = e.entity_type
  and (w.modified_since, w.store_hash) > (e.modified_since, e.store_hash);
update perazzi_sync.reconcile_watermarks set store_hash = pg_temp.canonical_store_hash(store_hash)
where pg_temp.canonical_store_hash(store_hash) <> store_hash;

-- Reconciliation gaps: one gap from the earliest start to the latest end, as a check widens a gap
-- (src/PerazziSync.BigCommerce/Rows/HookRows.cs): the listings cover both until both are closed.
update perazzi_sync.reconcile_gaps g
set since = m.since, until = m.until, opened_at = m.opened_at
from (
  select pg_temp.canonical_store_hash(store_hash) as hash, entity_type,
         min(since) as since, max(until) as until, min(opened_at) as opened_at
  from perazzi_sync.reconcile_gaps
  group by 1, 2
) m
where pg_temp.canonical_store_hash(g.store_hash) = m.hash and g.entity_type = m.entity_type;
delete from perazzi_sync.reconcile_gaps g
using perazzi_sync.reconcile_gaps e
where pg_temp.canonical_store_hash(g.store_hash) = pg_temp.canonical_store_hash(e.store_hash)
  and g.entity_type = e.entity_type and g.store_hash > e.store_hash;
update perazzi_sync.reconcile_gaps set store_hash = pg_temp.canonical_store_hash(store_hash)
where pg_temp.canonical_store_hash(store_hash) <> store_hash;

-- Subscription checks: the latest check is kept (the report every worker shows, which the next
-- check carries on from): it is the store's state as last seen. The gaps an older check opened
-- are merged above, so what it found quiet is still listed. The destination `hooks ensure`
-- recorded is kept from the latest row that has one.
update perazzi_sync.bigcommerce_hook_checks c
set destination = (
  select d.destination from perazzi_sync.bigcommerce_hook_checks d
  where pg_temp.canonical_store_hash(d.store_hash) = pg_temp.canonical_store_hash(c.store_hash)
    and d.destination is not null
  order by d.checked_at desc nulls last, d.store_hash
  limit 1)
where pg_temp.canonical_store_hash(c.store_hash) is not null;
delete from perazzi_sync.bigcommerce_hook_checks c
using perazzi_sync.bigcommerce_hook_checks e
where pg_temp.canonical_store_hash(c.store_hash) = pg_temp.canonical_store_hash(e.store_hash)
  and c.store_hash <> e.store_hash
  and (coalesce(c.checked_at, '-infinity'), e.store_hash) < (coalesce(e.checked_at, '-infinity'), c.store_hash);
update perazzi_sync.bigcommerce_hook_checks set store_hash = pg_temp.canonical_store_hash(store_hash)
where pg_temp.canonical_store_hash(store_hash) <> store_hash;

-- Fetch records: the earliest start is kept. A callback received before it skips its own fetch;
-- a later start would let a callback skip a fetch that had not covered its change.
delete from perazzi_sync.entity_fetches f
using perazzi_sync.entity_fetches e
where pg_temp.canonical_store_hash(f.store_hash) = pg_temp.canonical_store_hash(e.store_hash)
  and f.entity_type = e.entity_type and f.entity_id = e.entity_id
  and (f.fetch_started_at, f.store_hash) > (e.fetch_started_at, e.store_hash);
update perazzi_sync.entity_fetches set store_hash = pg_temp.canonical_store_hash(store_hash)
where pg_temp.canonical_store_hash(store_hash) <> store_hash;

-- Reconcile handoffs: the latest handed version is kept, the one the store's listing most likely
-- still shows. A version not kept is only handed to its consumer once more (one more dead letter
-- of the same failure); a well-formed entry is applied whatever is recorded here.
delete from perazzi_sync.reconcile_handoffs h
using perazzi_sync.reconcile_handoffs e
where pg_temp.canonical_store_hash(h.store_hash) = pg_temp.canonical_store_hash(e.store_hash)
  and h.entity_type = e.entity_type and h.entity_id = e.entity_id
  and (h.handed_at, e.store_hash) < (e.handed_at, h.store_hash);
update perazzi_sync.reconcile_handoffs set store_hash = pg_temp.canonical_store_hash(store_hash)
where pg_temp.canonical_store_hash(store_hash) <> store_hash;

-- Request budget: the latest window with the fewest requests left, the least the workers may
-- spend, so the store's quota is not overrun while the window lasts.
update perazzi_sync.api_budget b
set window_ends_at = m.window_ends_at, requests_left = m.requests_left
from (
  select pg_temp.canonical_store_hash(store_hash) as hash, max(window_ends_at) as window_ends_at, min(requests_left) as requests_left
  from perazzi_sync.api_budget
  group by 1
) m
where pg_temp.canonical_store_hash(b.store_hash) = m.hash;
delete from perazzi_sync.api_budget b
using perazzi_sync.api_budget e
where pg_temp.canonical_store_hash(b.store_hash) = pg_temp.canonical_store_hash(e.store_hash)
  and b.store_hash > e.store_hash;
update perazzi_sync.api_budget set store_hash = pg_temp.canonical_store_hash(store_hash)
where pg_temp.canonical_store_hash(store_hash) <> store_hash;

drop function pg_temp.canonical_store_hash(text);
