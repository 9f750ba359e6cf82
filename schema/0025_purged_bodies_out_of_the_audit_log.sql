-- A purged message's body is kept for the operators, out of the portal admins' reach
-- (docs/security-model.md). `dlq purge` wrote each body into its audit row's metadata, and portal
-- admins read the audit log: a POS callback's body names the workshop customer (e-mail, name), whom
-- the schema otherwise keeps from admins (they read neither raw_payload nor parked events). The
-- body now goes into perazzi_sync.purged_messages, keyed by its dlq.purge audit row, in the same
-- transaction; the audit row keeps what the message was (queue, id, type, source key, fault).
create table perazzi_sync.purged_messages (
  audit_id uuid primary key references public.audit_log (id) on delete cascade,
  -- As the audit row held it: the body's JSON when jsonb can hold it, else {"base64": the bytes}.
  body jsonb not null
);
-- The Cli writes as the service role and reads nothing back; operators read it with the Cli's login,
-- which owns the table. No API role has usage on perazzi_sync.
grant insert on perazzi_sync.purged_messages to service_role;

insert into perazzi_sync.purged_messages (audit_id, body)
select id, metadata -> 'body' from public.audit_log
where action = 'dlq.purge' and metadata ? 'body';
update public.audit_log set metadata = metadata - 'body'
where action = 'dlq.purge' and metadata ? 'body';
