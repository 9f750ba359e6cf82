-- Supabase already has the roles, the auth schema, auth.users and auth.uid(). On plain
-- PostgreSQL this creates minimal equivalents so the same scripts run in both places.
-- Every object is created only when missing: Supabase's own are never replaced.

do $$
declare
  role_name text;
begin
  foreach role_name in array array['anon', 'authenticated', 'service_role'] loop
    if not exists (select from pg_roles where rolname = role_name) then
      begin
        -- Supabase's service role bypasses RLS; the workers rely on that, as Supabase intends.
        execute format('create role %I nologin noinherit%s', role_name,
          case when role_name = 'service_role' then ' bypassrls' else '' end);
        execute format('grant %I to %I', role_name, current_user);
      exception when duplicate_object or unique_violation then
        -- Roles belong to the whole server: another database of it created this one meanwhile.
        null;
      end;
    end if;
  end loop;
end
$$;

do $$
begin
  if not exists (select from pg_namespace where nspname = 'auth') then
    create schema auth;
    grant usage on schema auth to anon, authenticated, service_role;
  end if;

  if to_regclass('auth.users') is null then
    create table auth.users (
      id uuid primary key,
      email text,
      email_confirmed_at timestamptz,
      created_at timestamptz default now()
    );
    grant select on auth.users to service_role;
  end if;

  -- Like Supabase's: the caller's id is the `sub` claim of the JWT that PostgREST puts into
  -- request.jwt.claims (older releases used request.jwt.claim.sub).
  if to_regprocedure('auth.uid()') is null then
    create function auth.uid() returns uuid
      language sql stable
      as $f$
        select coalesce(
          nullif(current_setting('request.jwt.claim.sub', true), ''),
          nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
        )::uuid
      $f$;
    grant execute on function auth.uid() to anon, authenticated, service_role;
  end if;
end
$$;
