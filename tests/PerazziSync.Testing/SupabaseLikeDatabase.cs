using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace PerazziSync.Testing;

/// <summary>
/// Prepares a database the way a Supabase project is prepared before the product's migrations
/// run, so that the product is tested against the privileges it will really meet:
/// <list type="bullet">
/// <item><c>auth.users</c> belongs to GoTrue's admin role (<c>supabase_auth_admin</c>), has RLS
/// enabled, and grants nothing to <c>service_role</c>, which only has <c>usage</c> on schema <c>auth</c>;</item>
/// <item>every new table, function and sequence in <c>public</c> is granted ALL to <c>anon</c>,
/// <c>authenticated</c> and <c>service_role</c> by default privileges;</item>
/// <item>the product connects (and migrates) as Supabase's <c>postgres</c> role does: not a
/// superuser, with BYPASSRLS, ALL on the auth tables and membership of the API roles. On this
/// server that role is <see cref="ProductRole"/>, since <c>postgres</c> is the server's superuser.</item>
/// </list>
/// </summary>
public static class SupabaseLikeDatabase
{
    /// <summary>Plays Supabase's <c>postgres</c> role.</summary>
    public const string ProductRole = "supabase_postgres";

    static readonly SemaphoreSlim RolesOnce = new(1, 1);
    static bool _rolesReady;

    // Roles belong to the whole server; each is created once and shared by every test database.
    const string Roles = $"""
        do $$
        declare
          definition text;
        begin
          foreach definition in array array[
            'anon nologin',
            'authenticated nologin',
            'service_role nologin bypassrls',
            'supabase_auth_admin nologin noinherit',
            'dashboard_user nologin',
            '{ProductRole} login bypassrls createrole'] loop
            begin
              execute 'create role ' || definition;
            exception when duplicate_object or unique_violation then
              null;
            end;
          end loop;
        end
        $$;
        grant anon, authenticated, service_role to {ProductRole};
        """;

    // What a fresh Supabase project holds that the product's migrations meet: the auth schema as
    // GoTrue leaves it (a subset of auth.users' columns), the extensions schema, and the default
    // privileges of public.
    const string Objects = $"""
        create schema extensions;
        grant usage on schema extensions to {ProductRole}, anon, authenticated, service_role;

        create schema auth;
        grant usage on schema auth to anon, authenticated, service_role;
        grant all on schema auth to supabase_auth_admin, {ProductRole}, dashboard_user;
        create table auth.users (
          instance_id uuid,
          id uuid primary key,
          aud varchar(255),
          role varchar(255),
          email varchar(255),
          encrypted_password varchar(255),
          email_confirmed_at timestamptz,
          raw_app_meta_data jsonb,
          raw_user_meta_data jsonb,
          created_at timestamptz,
          updated_at timestamptz
        );
        -- GoTrue's lookup of a user by e-mail (instance_id = ? and lower(email) = ?).
        create index users_instance_id_email_idx on auth.users using btree (instance_id, lower(email));
        alter table auth.users owner to supabase_auth_admin;
        alter table auth.users enable row level security;
        revoke all on auth.users from public;
        grant all on auth.users to {ProductRole}, dashboard_user;
        create function auth.uid() returns uuid language sql stable as $$
          -- supabase original
          select coalesce(
            nullif(current_setting('request.jwt.claim.sub', true), ''),
            (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
          )::uuid
        $$;
        alter function auth.uid() owner to supabase_auth_admin;

        grant usage, create on schema public to {ProductRole};
        grant usage on schema public to anon, authenticated, service_role;
        alter default privileges for role {ProductRole} in schema public grant all on tables to anon, authenticated, service_role;
        alter default privileges for role {ProductRole} in schema public grant all on functions to anon, authenticated, service_role;
        alter default privileges for role {ProductRole} in schema public grant all on sequences to anon, authenticated, service_role;
        """;

    /// <summary>
    /// Gives <paramref name="database"/> (empty, reached as the server's superuser through
    /// <paramref name="superuser"/>) Supabase's objects and privileges; returns the connection
    /// string the product uses there.
    /// </summary>
    public static async Task<string> PrepareAsync(string superuser, string database)
    {
        var password = ProductRolePassword(superuser);
        await EnsureRolesAsync(superuser, password);

        var onDatabase = new NpgsqlConnectionStringBuilder(superuser) { Database = database }.ConnectionString;
        await using (var connection = new NpgsqlConnection(onDatabase))
        {
            await connection.OpenAsync();
            await using var grant = new NpgsqlCommand($"grant all on database {database} to {ProductRole}; " + Objects, connection);
            await grant.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(onDatabase) { Username = ProductRole, Password = password }.ConnectionString;
    }

    static async Task EnsureRolesAsync(string superuser, string password)
    {
        await RolesOnce.WaitAsync();
        try
        {
            if (_rolesReady)
            {
                return;
            }
            await using var connection = new NpgsqlConnection(superuser);
            await connection.OpenAsync();
            // Other test processes may prepare the same roles at the same time.
            await using (var lockCommand = new NpgsqlCommand("select pg_advisory_lock(hashtextextended('perazzi-test-supabase-roles', 0))", connection))
            {
                await lockCommand.ExecuteNonQueryAsync();
            }
            await using (var roles = new NpgsqlCommand(Roles + $"alter role {ProductRole} password '{password}';", connection))
            {
                await roles.ExecuteNonQueryAsync();
            }
            await using (var unlock = new NpgsqlCommand("select pg_advisory_unlock(hashtextextended('perazzi-test-supabase-roles', 0))", connection))
            {
                await unlock.ExecuteNonQueryAsync();
            }
            _rolesReady = true;
        }
        finally
        {
            RolesOnce.Release();
        }
    }

    /// <summary>The same for every test process against the same server, so none locks another out.</summary>
    static string ProductRolePassword(string superuser) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("perazzi-test:" + superuser)))[..32];
}
