using Dapper;
using Npgsql;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Schema.Tests;

/// <summary>
/// The same scripts on a database prepared as Supabase prepares one (<see cref="SupabaseLikeDatabase"/>),
/// which also holds the portal's retrieval tables as its ingest created them: nothing of Supabase's
/// is replaced or granted, and every portal rule still holds.
/// </summary>
public sealed class SupabaseCompatibilityTests : IAsyncLifetime
{
    TestDatabase _database = null!;
    NpgsqlConnection _connection = null!;

    // What the portal's ingest created before this product, as Supabase's postgres role.
    const string ExistingRetrievalTables =
        """
        create table documents (id uuid primary key default gen_random_uuid(), title text, source text);
        create table chunks (id uuid primary key default gen_random_uuid(), document_id uuid references documents (id), content text);
        create table embeddings (id uuid primary key default gen_random_uuid(), chunk_id uuid references chunks (id), embedding real[]);
        alter table documents enable row level security;
        create policy "documents are public" on documents for select using (true);
        insert into documents (title, source) values ('Existing catalogue', 'ingest-v2');
        """;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync(DatabaseFlavour.Supabase);
        _connection = await _database.OpenAsync();
        await _connection.ExecuteAsync(ExistingRetrievalTables);
        await _database.MigrateAsync();
    }

    public async Task DisposeAsync()
    {
        await _connection.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Supabase_auth_objects_keep_their_owner_columns_rls_and_privileges()
    {
        Assert.Equal(11, await _connection.ExecuteScalarAsync<long>(
            "select count(*) from information_schema.columns where table_schema = 'auth' and table_name = 'users'"));
        Assert.Contains("supabase original", await _connection.ExecuteScalarAsync<string>(
            "select prosrc from pg_proc where oid = 'auth.uid()'::regprocedure"));
        var (owner, rls) = await _connection.QuerySingleAsync<(string, bool)>(
            "select relowner::regrole::text, relrowsecurity from pg_class where oid = 'auth.users'::regclass");
        Assert.Equal("supabase_auth_admin", owner);
        Assert.True(rls);
        Assert.False(await _connection.ExecuteScalarAsync<bool>(
            "select has_table_privilege('service_role', 'auth.users', 'select, insert, update, delete, references, trigger')"));
    }

    [Fact]
    public async Task On_plain_postgresql_the_bootstraps_auth_users_holds_what_supabases_holds()
    {
        await using var plain = await TestDatabase.CreateMigratedAsync(DatabaseFlavour.Plain);
        await using var connection = await plain.OpenAsync();

        Assert.True(await connection.ExecuteScalarAsync<bool>("select relrowsecurity from pg_class where oid = 'auth.users'::regclass"));
        Assert.False(await connection.ExecuteScalarAsync<bool>(
            "select has_table_privilege('service_role', 'auth.users', 'select, insert, update, delete, references, trigger')"));
    }

    /// <summary>
    /// Supabase's default privileges grant everything on each new table, view and sequence in
    /// <c>public</c> to the API roles: every relation a migration creates, in any schema they may
    /// use, holds only what is listed here, column by column where the grant is.
    /// </summary>
    [Fact]
    public async Task Only_the_table_privileges_meant_for_an_api_role_are_held_by_it()
    {
        var held = (await _connection.QueryAsync<string>(
            """
            with api_roles (rolname) as (values ('anon'), ('authenticated')),
            privileges (privilege) as (
              values ('select'), ('insert'), ('update'), ('delete'), ('truncate'), ('references'), ('trigger')),
            relations as (
              select c.oid, c.oid::regclass::text as name, c.relkind, r.rolname
              from pg_class c
              cross join api_roles r
              where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
                and c.relnamespace not in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
                and has_schema_privilege(r.rolname, c.relnamespace, 'usage')
            )
            select t.rolname || ' ' || p.privilege || ' ' || t.name
            from relations t cross join privileges p
            where t.relkind <> 'S' and has_table_privilege(t.rolname, t.oid, p.privilege)
            union all
            select t.rolname || ' ' || p.privilege || ' ' || t.name || ' (' || string_agg(a.attname, ', ' order by a.attnum) || ')'
            from relations t
            cross join privileges p
            join pg_attribute a on a.attrelid = t.oid and a.attnum > 0 and not a.attisdropped
            where t.relkind <> 'S' and p.privilege in ('select', 'insert', 'update', 'references')
              and not has_table_privilege(t.rolname, t.oid, p.privilege)
              and has_column_privilege(t.rolname, t.oid, a.attname, p.privilege)
            group by t.rolname, p.privilege, t.name
            union all
            select t.rolname || ' usage, select or update ' || t.name
            from relations t
            where t.relkind = 'S' and has_sequence_privilege(t.rolname, t.oid, 'usage, select, update')
            order by 1
            """)).ToList();

        Assert.Equal(
        [
            "anon select chunks (id, document_id, content, visibility)",
            "anon select documents (id, title, source, visibility)",
            "anon select embeddings",
            "authenticated delete assistant_conversations",
            "authenticated delete perazzi_assets",
            "authenticated insert assistant_conversations (user_id, title, status, last_message_at)",
            "authenticated insert assistant_messages (conversation_id, user_id, role, content, citations, model, response_id, metadata)",
            "authenticated insert audit_log (action, object_type, object_id, ip, user_agent, metadata)",
            "authenticated insert perazzi_assets (owner_user_id, serial_number, model, platform)",
            "authenticated insert profiles (id, display_name)",
            "authenticated select assistant_conversations",
            "authenticated select assistant_messages",
            "authenticated select audit_log",
            "authenticated select chunks",
            "authenticated select commerce_customers",
            "authenticated select commerce_order_items (id, commerce_order_id, bigcommerce_line_id, sku, product_id, name, quantity, price)",
            "authenticated select commerce_orders (id, commerce_customer_id, bigcommerce_order_id, order_number, status, total_amount, currency, placed_at, source_modified_at, created_at, updated_at, archived_at)",
            "authenticated select documents",
            "authenticated select embeddings",
            "authenticated select perazzi_assets",
            "authenticated select profiles",
            "authenticated select service_events (id, asset_id, owner_user_id, source_system, source_record_id, service_date, status, work_summary, attachments, source_modified_at, created_at, updated_at)",
            "authenticated update assistant_conversations (title, status, last_message_at)",
            "authenticated update perazzi_assets (model, platform, verification_status, verification_method, verified_at)",
            "authenticated update profiles (display_name, role)",
        ], held);
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

    [Fact]
    public async Task Deleting_a_user_as_gotrue_does_removes_their_rows_and_keeps_the_audit_trail()
    {
        await using var transaction = await _connection.BeginTransactionAsync();
        await _connection.ExecuteAsync("delete from documents");
        await PortalFixtureData.SeedAsync(_connection);
        await _connection.ExecuteAsync(
            "insert into audit_log (actor_user_id, actor_role, action) values (@jane, 'admin', 'admin.override')", new { jane = PortalUsers.Jane });
        // The portal's own retrieval tables reference each other without cascading deletes; what
        // becomes of a leaving user's private documents is the portal's decision, not tested here.
        await _connection.ExecuteAsync("delete from embeddings; delete from chunks; delete from documents");
        await transaction.CommitAsync();

        await using (var gotrue = await _database.OpenAsSuperuserAsync())
        {
            await gotrue.ExecuteAsync("set role supabase_auth_admin; delete from auth.users where id = @jane", new { jane = PortalUsers.Jane });
        }

        var left = await _connection.QuerySingleAsync<(long Profiles, long Assets, long Events, long Customers, long Conversations, long Audit)>(
            """
            select (select count(*) from profiles where id = @jane),
                   (select count(*) from perazzi_assets where owner_user_id = @jane),
                   (select count(*) from service_events where owner_user_id = @jane),
                   (select count(*) from commerce_customers where user_id = @jane),
                   (select count(*) from assistant_conversations where user_id = @jane),
                   (select count(*) from audit_log where action = 'admin.override' and actor_user_id is null)
            """, new { jane = PortalUsers.Jane });
        Assert.Equal((0L, 0L, 0L, 0L, 0L, 1L), left);
    }
}
