-- The claimants' e-mails compared as GoTrue looks a user up: by instance and lower(email), which
-- its index users_instance_id_email_idx (instance_id, lower(email)) answers. 0011 normalised every
-- row of auth.users (lower and trim) on each call, a scan of the whole table for each chunk of an
-- import that weighs claims. GoTrue stores an address validated and in lower case, so trimming the
-- stored side changes nothing for its users; the address a POS record names is still trimmed, and
-- so is the claimant's own (looked up by id). `ambiguous_portal_user` counts the confirmed users
-- with the address in the claimant's instance and those with no instance (rows not written by
-- GoTrue); a row written by hand with spaces around its address is no longer counted.

-- On plain PostgreSQL, 0001's stand-in auth.users gets the column and the index GoTrue's has.
-- Supabase's own table, which belongs to supabase_auth_admin, is not touched.
do $$
begin
  if (select relowner from pg_class where oid = 'auth.users'::regclass) = (select oid from pg_roles where rolname = current_user) then
    alter table auth.users add column if not exists instance_id uuid default '00000000-0000-0000-0000-000000000000';
    create index if not exists users_instance_id_email_idx on auth.users (instance_id, lower(email));
  end if;
end
$$;

create or replace function perazzi_sync.claimant_email_verdicts(claimants uuid[], addresses text[])
  returns table (item integer, verdict text)
  language sql stable security definer
  set search_path = ''
  as $$
    with asked as (
      select q.item::integer as item, q.claimant, lower(btrim(q.address)) as address
      from unnest(claimants, addresses) with ordinality as q(claimant, address, item)
    ), claimant as (
      select a.item, a.address, u.instance_id,
             u.email_confirmed_at is not null as confirmed,
             coalesce(lower(btrim(u.email)) = a.address, false) as same
      from asked a left join auth.users u on u.id = a.claimant
    ), holders as (
      select h.address, h.instance_id,
             (select count(*) from auth.users u
              where lower(u.email) = h.address
                and u.email_confirmed_at is not null
                and (u.instance_id = h.instance_id or u.instance_id is null)) as confirmed_users
      from (select distinct c.address, c.instance_id from claimant c where c.same and c.confirmed) h
    )
    select c.item,
           case when not c.same then 'email_mismatch'
                when not c.confirmed then 'claimant_unconfirmed'
                when h.confirmed_users > 1 then 'ambiguous_portal_user'
                else 'match' end
    from claimant c
    left join holders h on h.address = c.address and h.instance_id is not distinct from c.instance_id
  $$;
