-- Row-level security as the seed's "RLS intent": default deny, explicit policies.
--
-- Three layers, each needed:
--   * table and column privileges: what a role may touch at all (owners never see raw_payload,
--     never write an owner column, never write service events or commerce rows);
--   * policies: which rows (their own; admins all);
--   * triggers: changes a policy cannot see because they compare old and new values
--     (a user making themselves admin, an owner verifying their own gun).
-- The service role bypasses RLS (as on Supabase); its privileges are granted explicitly.
-- Supabase grants every role everything on new tables in public by default, so each table
-- starts by revoking that.

create function is_admin() returns boolean
  language sql stable security definer
  set search_path = ''
  as $$
    select exists (
      select 1 from public.profiles p where p.id = auth.uid() and p.role = 'admin'
    )
  $$;
revoke all on function is_admin() from public;
grant execute on function is_admin() to anon, authenticated, service_role;

-- Ordinary portal users (not the service role, not an admin) may not change the columns named
-- in the trigger's arguments.
create function protect_privileged_columns() returns trigger
  language plpgsql
  as $$
declare
  column_name text;
begin
  if current_user not in ('authenticated', 'anon') or is_admin() then
    return new;
  end if;
  foreach column_name in array tg_argv loop
    if to_jsonb(new) -> column_name is distinct from to_jsonb(old) -> column_name then
      raise exception 'permission denied to change %.%', tg_table_name, column_name
        using errcode = '42501';
    end if;
  end loop;
  return new;
end
$$;

create trigger profiles_protect_role before update on profiles
  for each row execute function protect_privileged_columns('role');
create trigger perazzi_assets_protect_verification before update on perazzi_assets
  for each row execute function protect_privileged_columns(
    'owner_user_id', 'serial_number', 'verification_status', 'verification_method', 'verified_at');

alter table profiles enable row level security;
alter table perazzi_assets enable row level security;
alter table service_events enable row level security;
alter table assistant_conversations enable row level security;
alter table assistant_messages enable row level security;
alter table commerce_customers enable row level security;
alter table commerce_orders enable row level security;
alter table commerce_order_items enable row level security;
alter table audit_log enable row level security;

revoke all on profiles, perazzi_assets, service_events, assistant_conversations,
  assistant_messages, commerce_customers, commerce_orders, commerce_order_items, audit_log
  from anon, authenticated, service_role;

-- profiles: a user reads and renames their own profile; admins read and update all.
grant select on profiles to authenticated;
grant insert (id, display_name) on profiles to authenticated;
grant update (display_name, role) on profiles to authenticated;
grant select, insert, update on profiles to service_role;

create policy profiles_select on profiles for select to authenticated
  using (id = auth.uid() or is_admin());
create policy profiles_insert on profiles for insert to authenticated
  with check (id = auth.uid() and role = 'owner');
create policy profiles_update on profiles for update to authenticated
  using (id = auth.uid() or is_admin())
  with check (id = auth.uid() or is_admin());

-- perazzi_assets: owners register and describe their guns; only admins (and the service
-- role) verify them, because a verified asset shows its workshop history.
grant select on perazzi_assets to authenticated;
grant insert (owner_user_id, serial_number, model, platform) on perazzi_assets to authenticated;
grant update (model, platform, verification_status, verification_method, verified_at)
  on perazzi_assets to authenticated;
grant select, insert, update on perazzi_assets to service_role;

create policy perazzi_assets_select on perazzi_assets for select to authenticated
  using (owner_user_id = auth.uid() or is_admin());
create policy perazzi_assets_insert on perazzi_assets for insert to authenticated
  with check ((owner_user_id = auth.uid() and verification_status = 'unverified') or is_admin());
create policy perazzi_assets_update on perazzi_assets for update to authenticated
  using (owner_user_id = auth.uid() or is_admin())
  with check (owner_user_id = auth.uid() or is_admin());

-- service_events: written by the sync only; owners and admins read, never raw_payload.
grant select (id, asset_id, owner_user_id, source_system, source_record_id, service_date,
  status, work_summary, attachments, source_modified_at, created_at, updated_at)
  on service_events to authenticated;
grant select, insert, update, delete on service_events to service_role;

create policy service_events_select on service_events for select to authenticated
  using (owner_user_id = auth.uid() or is_admin());

-- assistant conversations and messages: users read and write their own. Admins read all;
-- support staff read through support_read_conversation, which leaves an audit trail.
grant select on assistant_conversations to authenticated;
grant insert (user_id, title, status, last_message_at) on assistant_conversations to authenticated;
grant update (title, status, last_message_at) on assistant_conversations to authenticated;
grant delete on assistant_conversations to authenticated;
grant select, insert, update, delete on assistant_conversations to service_role;

create policy assistant_conversations_select on assistant_conversations for select to authenticated
  using (user_id = auth.uid() or is_admin());
create policy assistant_conversations_insert on assistant_conversations for insert to authenticated
  with check (user_id = auth.uid());
create policy assistant_conversations_update on assistant_conversations for update to authenticated
  using (user_id = auth.uid())
  with check (user_id = auth.uid());
create policy assistant_conversations_delete on assistant_conversations for delete to authenticated
  using (user_id = auth.uid());

grant select on assistant_messages to authenticated;
grant insert (conversation_id, user_id, role, content, citations, model, response_id, metadata)
  on assistant_messages to authenticated;
grant select, insert, update, delete on assistant_messages to service_role;

create policy assistant_messages_select on assistant_messages for select to authenticated
  using (user_id = auth.uid() or is_admin());
create policy assistant_messages_insert on assistant_messages for insert to authenticated
  with check (
    user_id = auth.uid()
    and exists (
      select 1 from assistant_conversations c
      where c.id = conversation_id and c.user_id = auth.uid()
    )
  );

-- commerce_*: written by the sync only; a user reads what hangs off their linked customer.
grant select on commerce_customers to authenticated;
grant select (id, commerce_customer_id, bigcommerce_order_id, order_number, status,
  total_amount, currency, placed_at, source_modified_at, created_at, updated_at)
  on commerce_orders to authenticated;
grant select (id, commerce_order_id, bigcommerce_line_id, sku, product_id, name, quantity, price)
  on commerce_order_items to authenticated;
grant select, insert, update, delete on commerce_customers, commerce_orders, commerce_order_items
  to service_role;

create policy commerce_customers_select on commerce_customers for select to authenticated
  using (user_id = auth.uid() or is_admin());
create policy commerce_orders_select on commerce_orders for select to authenticated
  using (
    is_admin()
    or exists (
      select 1 from commerce_customers c
      where c.id = commerce_customer_id and c.user_id = auth.uid()
    )
  );
create policy commerce_order_items_select on commerce_order_items for select to authenticated
  using (
    is_admin()
    or exists (
      select 1 from commerce_orders o
      join commerce_customers c on c.id = o.commerce_customer_id
      where o.id = commerce_order_id and c.user_id = auth.uid()
    )
  );

-- audit_log: append-only. Admins read it and record their own actions; the service role
-- records the sync's.
grant select, insert on audit_log to authenticated;
grant select, insert on audit_log to service_role;

create policy audit_log_select on audit_log for select to authenticated
  using (is_admin());
create policy audit_log_insert on audit_log for insert to authenticated
  with check (is_admin() and actor_user_id = auth.uid());

-- Support staff read a conversation only through this function, which records who read what
-- in the audit log in the same transaction.
create function support_read_conversation(conversation uuid)
  returns setof assistant_messages
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  reader uuid := auth.uid();
begin
  if not exists (
    select 1 from public.profiles p where p.id = reader and p.role in ('support', 'admin')
  ) then
    raise exception 'only support staff may read other users'' conversations'
      using errcode = '42501';
  end if;
  insert into public.audit_log (actor_user_id, actor_role, action, object_type, object_id)
  values (reader, 'support', 'support.conversation.read', 'assistant_conversation', conversation::text);
  return query
    select m.* from public.assistant_messages m
    where m.conversation_id = conversation
    order by m.created_at;
end
$$;
revoke all on function support_read_conversation(uuid) from public;
grant execute on function support_read_conversation(uuid) to authenticated;
