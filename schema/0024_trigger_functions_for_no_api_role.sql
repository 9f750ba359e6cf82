-- No API role executes a function it has no call for (docs/security-model.md). The trigger
-- functions of 0003 and 0004 were left executable by anon, authenticated and service_role
-- (Supabase's default privileges on public; PostgreSQL's grant to PUBLIC elsewhere), and so listed
-- as remote procedures by the portal's API. A trigger function cannot be called but as a trigger,
-- and a trigger runs its function whoever fires it, so the grants gave nothing but that listing;
-- they are taken back, as 0008 did for stamp_portal_audit_row.
revoke all on function set_updated_at(), normalize_serial_number(), protect_privileged_columns()
  from public, anon, authenticated, service_role;
