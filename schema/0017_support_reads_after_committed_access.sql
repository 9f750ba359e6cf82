-- Reading another user's conversations leaves an audit row that the reader cannot take back
-- (docs/security-model.md). The audited functions of 0008 wrote their row in the reader's own
-- transaction, and Supabase's API lets a request end in a rollback (`Prefer: tx=rollback`,
-- supabase-js `.rollback()`): the answer arrives, the audit row is gone. Support staff and admins
-- now first ask for access to a user's conversations, `support_request_access(owner)`, in a request
-- of its own; listing and reading answer only once that row is committed, for 15 minutes. Each
-- still writes its own row as well.

-- The role of the caller if support staff or an admin; raises otherwise.
create function perazzi_sync.support_reader_role() returns text
  language plpgsql stable
  set search_path = ''
  as $$
declare
  reader_role text := (select p.role from public.profiles p where p.id = auth.uid());
begin
  if reader_role is null or reader_role not in ('support', 'admin') then
    raise exception 'only support staff may read other users'' conversations'
      using errcode = '42501';
  end if;
  return reader_role;
end
$$;
revoke all on function perazzi_sync.support_reader_role() from public;

-- The role of the caller if support staff or an admin with a committed access row for `owner`'s
-- conversations from the last 15 minutes; raises otherwise. A row written by the current
-- transaction (savepoints included) has its start time, now(), and does not count: it is not
-- committed, and a rollback would take it back.
create function perazzi_sync.require_support_access(owner uuid) returns text
  language plpgsql stable
  set search_path = ''
  as $$
declare
  reader_role text := perazzi_sync.support_reader_role();
begin
  if not exists (
    select from public.audit_log a
    where a.action = 'support.conversation.access'
      and a.actor_user_id = auth.uid()
      and a.object_type = 'auth_user' and a.object_id = owner::text
      and a.created_at > now() - interval '15 minutes'
      and a.created_at <> now()) then
    raise exception 'no access to this user''s conversations'
      using errcode = '42501',
            hint = 'Ask for it with support_request_access(owner) in a request of its own, which must commit first.';
  end if;
  return reader_role;
end
$$;
revoke all on function perazzi_sync.require_support_access(uuid) from public;

create function support_request_access(owner uuid) returns timestamptz
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  insert into public.audit_log (actor_user_id, actor_role, action, object_type, object_id)
  values (auth.uid(), perazzi_sync.support_reader_role(), 'support.conversation.access', 'auth_user', owner::text);
  return now() + interval '15 minutes';
end
$$;
revoke all on function support_request_access(uuid) from public, anon, service_role;
grant execute on function support_request_access(uuid) to authenticated;

create or replace function support_list_conversations(owner uuid)
  returns table (id uuid, title text, status text, last_message_at timestamptz, created_at timestamptz)
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  reader_role text := perazzi_sync.require_support_access(owner);
begin
  insert into public.audit_log (actor_user_id, actor_role, action, object_type, object_id)
  values (auth.uid(), reader_role, 'support.conversation.list', 'auth_user', owner::text);
  return query
    select c.id, c.title, c.status, c.last_message_at, c.created_at from public.assistant_conversations c
    where c.user_id = owner
    order by c.last_message_at desc nulls last;
end
$$;

create or replace function support_read_conversation(conversation uuid)
  returns setof assistant_messages
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  -- An unknown conversation has no owner, and no access is granted to it.
  reader_role text := perazzi_sync.require_support_access(
    (select c.user_id from public.assistant_conversations c where c.id = conversation));
begin
  insert into public.audit_log (actor_user_id, actor_role, action, object_type, object_id)
  values (auth.uid(), reader_role, 'support.conversation.read', 'assistant_conversation', conversation::text);
  return query
    select m.* from public.assistant_messages m
    where m.conversation_id = conversation
    order by m.created_at;
end
$$;
