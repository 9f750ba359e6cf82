using Dapper;
using Npgsql;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Schema.Tests;

/// <summary>
/// The same scripts on a database that already has Supabase's objects and the portal's
/// retrieval tables: nothing of theirs is replaced, and every portal rule still holds.
/// </summary>
public sealed class SupabaseCompatibilityTests : IAsyncLifetime
{
    TestDatabase _database = null!;
    NpgsqlConnection _connection = null!;

    // Shaped like Supabase's own (a subset of its columns), with markers to prove they survive.
    const string SupabaseLikeObjects =
        """
        create schema if not exists extensions;
        create schema auth;
        grant usage on schema auth to anon, authenticated, service_role;
        create table auth.users (
          instance_id uuid,
          id uuid primary key,
          aud varchar(255),
          role varchar(255),
          email varchar(255),
          encrypted_password varchar(255),
          email_confirmed_at timestamptz,
          raw_user_meta_data jsonb,
          created_at timestamptz,
          updated_at timestamptz
        );
        create function auth.uid() returns uuid language sql stable as $$
          -- supabase original
          select coalesce(
            nullif(current_setting('request.jwt.claim.sub', true), ''),
            (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
          )::uuid
        $$;
        grant execute on function auth.uid() to anon, authenticated, service_role;

        -- Supabase grants every API role everything on new tables in public; RLS is what protects.
        alter default privileges in schema public grant all on tables to anon, authenticated, service_role;

        create table documents (id uuid primary key default gen_random_uuid(), title text, source text);
        create table chunks (id uuid primary key default gen_random_uuid(), document_id uuid references documents (id), content text);
        create table embeddings (id uuid primary key default gen_random_uuid(), chunk_id uuid references chunks (id), embedding real[]);
        alter table documents enable row level security;
        create policy "documents are public" on documents for select using (true);
        insert into documents (title, source) values ('Existing catalogue', 'ingest-v2');
        """;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _connection = await _database.OpenAsync();
        await _connection.ExecuteAsync(SupabaseLikeObjects);
        await _database.MigrateAsync();
    }

    public async Task DisposeAsync()
    {
        await _connection.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Supabase_objects_are_kept_as_they_were()
    {
        Assert.Equal(10, await _connection.ExecuteScalarAsync<long>(
            "select count(*) from information_schema.columns where table_schema = 'auth' and table_name = 'users'"));
        Assert.Contains("supabase original", await _connection.ExecuteScalarAsync<string>(
            "select prosrc from pg_proc where oid = 'auth.uid()'::regprocedure"));
    }

    [Fact]
    public async Task Existing_retrieval_rows_stay_public_and_get_an_owner_column()
    {
        var (visibility, owner) = await _connection.QuerySingleAsync<(string, Guid?)>(
            "select visibility, owner_user_id from documents where title = 'Existing catalogue'");
        Assert.Equal("public", visibility);
        Assert.Null(owner);
    }

    [Fact]
    public async Task Every_portal_rule_holds_despite_broad_default_grants_and_an_existing_lax_policy()
    {
        await using var transaction = await _connection.BeginTransactionAsync();
        await _connection.ExecuteAsync("delete from documents");
        await PortalFixtureData.SeedAsync(_connection);
        var failures = await RlsChecks.FailuresAsync(_connection);
        await transaction.RollbackAsync();
        Assert.Empty(failures);
    }
}
