-- Claimed guns verified by the workshop's own records (docs/sync-rules.md, "Claimed guns"): a POS
-- record naming the claimant's confirmed e-mail verifies a pending claim (`pos_match`); any other
-- evidence opens a review item that an operator decides (`dealer_review`). A claim awaits
-- verification while its asset is `unverified` (as an owner registers it) or `pending`.

-- 1. Each claim the sync has weighed: its latest evidence and its decision. The open ones are the
-- review queue; the product's own bookkeeping, so no API role sees it.
create table perazzi_sync.asset_claims (
  asset_id uuid primary key references public.perazzi_assets (id) on delete cascade,
  serial_number text not null,
  claimant_user_id uuid not null,
  status text not null check (status in ('open', 'verified', 'rejected')),
  -- Why it waits for a person; kept after the decision, as the evidence it was decided on.
  reason text check (reason in ('email_mismatch', 'claimant_unconfirmed', 'no_pos_identity', 'ambiguous_portal_user')),
  -- The POS record the latest evidence rests on (its work order and version).
  pos_source_record_id text,
  pos_version timestamptz,
  -- What the decision rests on: pos_customer_email or dealer_review.
  basis text,
  decided_at timestamptz,
  decided_by text,
  -- The operator's reason for a rejection.
  note text,
  opened_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now()
);
create index asset_claims_open_idx on perazzi_sync.asset_claims (opened_at) where status = 'open';
grant select, insert, update on perazzi_sync.asset_claims to service_role;

-- 2. Whether each claimant's confirmed auth e-mail is the address a POS record names. The service
-- role has no privilege on auth.users (Supabase: GoTrue's, RLS on); like confirmed_portal_user
-- (0008), this function, owned by the migrating role, answers one question and returns no
-- e-mail: for the i-th claimant and address, `match`, `email_mismatch`, `claimant_unconfirmed`
-- (the address is the claimant's, not confirmed) or `ambiguous_portal_user` (more than one
-- confirmed user has it, so it proves no one's claim). Addresses compare trimmed and
-- case-insensitively. Set-based: one scan of auth.users per call, whatever the number of claims.
create function perazzi_sync.claimant_email_verdicts(claimants uuid[], addresses text[])
  returns table (item integer, verdict text)
  language sql stable security definer
  set search_path = ''
  as $$
    with asked as (
      select q.item::integer as item, q.claimant, lower(btrim(q.address)) as address
      from unnest(claimants, addresses) with ordinality as q(claimant, address, item)
    ), claimant as (
      select a.item, a.address,
             u.email_confirmed_at is not null as confirmed,
             coalesce(lower(btrim(u.email)) = a.address, false) as same
      from asked a left join auth.users u on u.id = a.claimant
    ), holders as (
      select lower(btrim(u.email)) as address, count(*) as confirmed_users
      from auth.users u
      where u.email_confirmed_at is not null
        and lower(btrim(u.email)) in (select c.address from claimant c where c.same and c.confirmed)
      group by 1
    )
    select c.item,
           case when not c.same then 'email_mismatch'
                when not c.confirmed then 'claimant_unconfirmed'
                when h.confirmed_users > 1 then 'ambiguous_portal_user'
                else 'match' end
    from claimant c left join holders h on h.address = c.address
  $$;
revoke all on function perazzi_sync.claimant_email_verdicts(uuid[], text[]) from public;
grant execute on function perazzi_sync.claimant_email_verdicts(uuid[], text[]) to service_role;

-- 3. asset.verify and asset.reject, written by the database for every asset whose verification
-- status becomes verified or rejected, whoever changed it (the sync, the Cli, an admin in the
-- portal, a SQL prompt), as 0010 audits the synced tables: from the statement's transition tables
-- and the transaction's perazzi_sync.audit context. The claim decided in the same transaction
-- (asset_claims.decided_at is the transaction's time) adds its basis: the POS record and version
-- the match rests on, or the operator's reason for a rejection. A context naming an operator (the
-- Cli's verbs) makes the actor `operator` and adds the database login, as the other verbs' rows do.
create function perazzi_sync.audit_asset_decisions() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  context jsonb := coalesce(nullif(current_setting('perazzi_sync.audit', true), ''), '{}')::jsonb;
  actor text := case when context ? 'operator' then 'operator'
                     when current_setting('role') <> 'none' then current_setting('role')
                     else session_user end;
begin
  insert into public.audit_log (actor_user_id, actor_role, action, object_type, object_id, metadata)
  select auth.uid(), actor,
         case n.verification_status when 'verified' then 'asset.verify' else 'asset.reject' end,
         'perazzi_asset', n.id::text,
         (context - 'keys' - 'action')
         || jsonb_build_object(
              'serial_number', n.serial_number,
              'owner_user_id', n.owner_user_id,
              'verification_method', n.verification_method,
              'verified_at', n.verified_at,
              'previous_status', o.verification_status)
         || coalesce(jsonb_strip_nulls(jsonb_build_object(
              'basis', c.basis,
              'pos_source_record_id', c.pos_source_record_id,
              'pos_version', c.pos_version,
              'review_reason', c.reason,
              'reason', c.note)), '{}')
         || case when context ? 'operator' then jsonb_build_object('db_session_user', session_user) else '{}' end
  from new_rows n
  join old_rows o on o.id = n.id
  left join perazzi_sync.asset_claims c on c.asset_id = n.id and c.status = n.verification_status and c.decided_at = now()
  where n.verification_status in ('verified', 'rejected')
    and n.verification_status is distinct from o.verification_status;
  return null;
end
$$;
revoke all on function perazzi_sync.audit_asset_decisions() from public;

create trigger perazzi_assets_audit_decisions after update on perazzi_assets
  referencing old table as old_rows new table as new_rows
  for each statement execute function perazzi_sync.audit_asset_decisions();

-- 4. An import's outcome says how many claims its records verified.
alter table perazzi_sync.pos_imports add column verified bigint not null default 0;
