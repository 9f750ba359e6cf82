-- What a review against a real Supabase database found: the sync must not depend on privileges
-- Supabase does not give, and no API role may read or write more than the portal means it to.

-- 1. Linking a BigCommerce customer to a portal user. On Supabase, auth.users belongs to GoTrue's
-- admin role, has RLS on and grants service_role nothing, and the product must not change that.
-- This function, owned by the migrating role (which does have access there), answers exactly one
-- question for the service role: which confirmed portal user has this e-mail (ignoring case)?
-- `ambiguous` says that more than one does, in which case no user is returned.
create function perazzi_sync.confirmed_portal_user(address text, out user_id uuid, out ambiguous boolean)
  language sql stable security definer
  set search_path = ''
  as $$
    select case when count(*) = 1 then (array_agg(u.id))[1] end, count(*) > 1
    from (
      select id from auth.users
      where lower(email) = lower(btrim(address)) and email_confirmed_at is not null
      limit 2
    ) u
  $$;
revoke all on function perazzi_sync.confirmed_portal_user(text) from public;
grant execute on function perazzi_sync.confirmed_portal_user(text) to service_role;

-- On plain PostgreSQL, 0001 created a stand-in auth.users (owned by the migrating role) and let
-- the service role read it. The stand-in now holds what Supabase's holds (RLS on, nothing for the
-- service role), so plain PostgreSQL meets the product with the same privileges. Supabase's own
-- table, which belongs to supabase_auth_admin, is not touched.
do $$
begin
  if (select relowner from pg_class where oid = 'auth.users'::regclass) = (select oid from pg_roles where rolname = current_user) then
    revoke all on auth.users from service_role;
    alter table auth.users enable row level security;
  end if;
end
$$;

-- 3. A chunk, and so its embedding, is never more visible than its document. Ingest scripts
-- written before these columns existed insert chunks with the default visibility (public); this
-- restrictive policy hides such chunks of a private document whatever they say, because the
-- document lookup runs under the documents' own policies (and the embeddings' policies look up
-- their chunk the same way).
create policy chunks_follow_document on chunks as restrictive for select to anon, authenticated
  using (document_id is null or exists (select 1 from documents d where d.id = document_id));

-- 4. Admins no longer read conversations directly: like support staff, they go through the
-- audited functions, so every read of someone else's conversation leaves an audit row.
alter policy assistant_conversations_select on assistant_conversations using (user_id = auth.uid());
alter policy assistant_messages_select on assistant_messages using (user_id = auth.uid());

-- The audited reads record the reader's own role (support or admin).
create or replace function support_read_conversation(conversation uuid)
  returns setof assistant_messages
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  reader uuid := auth.uid();
  reader_role text := (select p.role from public.profiles p where p.id = reader);
begin
  if reader_role is null or reader_role not in ('support', 'admin') then
    raise exception 'only support staff may read other users'' conversations'
      using errcode = '42501';
  end if;
  insert into public.audit_log (actor_user_id, actor_role, action, object_type, object_id)
  values (reader, reader_role, 'support.conversation.read', 'assistant_conversation', conversation::text);
  return query
    select m.* from public.assistant_messages m
    where m.conversation_id = conversation
    order by m.created_at;
end
$$;

-- Support staff and admins find the conversation to read through this one, audited as well.
create function support_list_conversations(owner uuid)
  returns table (id uuid, title text, status text, last_message_at timestamptz, created_at timestamptz)
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  reader uuid := auth.uid();
  reader_role text := (select p.role from public.profiles p where p.id = reader);
begin
  if reader_role is null or reader_role not in ('support', 'admin') then
    raise exception 'only support staff may list other users'' conversations'
      using errcode = '42501';
  end if;
  insert into public.audit_log (actor_user_id, actor_role, action, object_type, object_id)
  values (reader, reader_role, 'support.conversation.list', 'auth_user', owner::text);
  return query
    select c.id, c.title, c.status, c.last_message_at, c.created_at from public.assistant_conversations c
    where c.user_id = owner
    order by c.last_message_at desc nulls last;
end
$$;

-- Supabase's default privileges granted these to every API role; only portal users call them.
revoke all on function support_read_conversation(uuid) from public, anon, service_role;
revoke all on function support_list_conversations(uuid) from public, anon, service_role;
grant execute on function support_list_conversations(uuid) to authenticated;

-- 9. An admin records their own actions in the audit log, but who and when are not theirs to
-- write: the row gets their id, the role `admin` and the database's time.
revoke insert on audit_log from authenticated;
grant insert (action, object_type, object_id, ip, user_agent, metadata) on audit_log to authenticated;

create function stamp_portal_audit_row() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if current_user in ('authenticated', 'anon') then
    new.actor_user_id := auth.uid();
    new.actor_role := 'admin';
    new.created_at := now();
  end if;
  return new;
end
$$;
create trigger audit_log_stamp_portal_row before insert on audit_log
  for each row execute function stamp_portal_audit_row();
revoke all on function stamp_portal_audit_row() from public, anon, authenticated, service_role;
