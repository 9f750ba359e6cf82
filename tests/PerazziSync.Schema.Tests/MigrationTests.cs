using Dapper;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Schema.Tests;

public sealed class MigrationTests
{
    [Fact]
    public async Task Migrating_twice_applies_every_script_once_and_then_nothing()
    {
        await using var database = await TestDatabase.CreateAsync();

        var first = await database.MigrateAsync();
        var second = await database.MigrateAsync();

        var scripts = Directory.GetFiles(Path.Combine(RepositoryRoot(), "schema"), "*.sql").Select(Path.GetFileName).Order().ToList();
        Assert.Equal(scripts.Select(s => "schema/" + s), first.Applied);
        Assert.Empty(second.Applied);
        await using var connection = await database.OpenAsync();
        Assert.Equal(scripts.Count, await connection.ExecuteScalarAsync<long>("select count(*) from perazzi_sync.schema_versions"));
    }

    /// <summary>
    /// 0025 on a database where purges already wrote bodies into their audit rows: as if it had not
    /// run yet (its table dropped, its journal row deleted) when such a row was written.
    /// </summary>
    [Fact]
    public async Task Bodies_earlier_purges_wrote_into_the_audit_log_are_moved_beside_their_rows()
    {
        const string script = "schema/0025_purged_bodies_out_of_the_audit_log.sql";
        await using var database = await TestDatabase.CreateMigratedAsync();
        await using var connection = await database.OpenAsync();
        var row = await connection.ExecuteScalarAsync<Guid>("""
            drop table perazzi_sync.purged_messages;
            delete from perazzi_sync.schema_versions where scriptname = @script;
            insert into audit_log (actor_role, action, object_type, object_id, metadata)
            values ('operator', 'dlq.purge', 'message', 'm-1',
                    '{"queue":"perazzi-pos-service-record-received_error","body":{"message":{"record":{"customerEmail":"walter.bianchi@example.it"}}}}')
            returning id
            """, new { script });

        Assert.Equal([script], (await database.MigrateAsync()).Applied);

        Assert.Equal(
            """{"queue": "perazzi-pos-service-record-received_error"}""",
            await connection.ExecuteScalarAsync<string>("select metadata::text from audit_log where id = @row", new { row }));
        Assert.Equal(
            """{"message": {"record": {"customerEmail": "walter.bianchi@example.it"}}}""",
            await connection.ExecuteScalarAsync<string>("select body::text from perazzi_sync.purged_messages where audit_id = @row", new { row }));
    }

    /// <summary>
    /// 0029 on a database a deployment wrote with the store hash configured as '  ABC123 ' and
    /// then as 'Abc123' (as if 0029 had not run yet, its journal row deleted): every row is found
    /// under 'abc123', two rows of one key merged as the sync stays safe; a hash that is not valid
    /// once canonical (a hyphen, the Kelvin sign) is left as it was.
    /// </summary>
    [Fact]
    public async Task Rows_kept_under_an_earlier_spelling_of_the_store_hash_are_moved_to_its_canonical_form_and_merged()
    {
        const string script = "schema/0029_store_hashes_canonical.sql";
        await using var database = await TestDatabase.CreateMigratedAsync();
        await using var connection = await database.OpenAsync();
        await connection.ExecuteAsync("""
            delete from perazzi_sync.schema_versions where scriptname = @script;
            insert into perazzi_sync.reconcile_watermarks (store_hash, entity_type, modified_since) values
              ('  ABC123 ', 'order', '2026-11-01 10:00Z'), ('Abc123', 'order', '2026-11-10 10:00Z'),
              ('abc123', 'customer', '2026-11-05 10:00Z'), ('Abc123', 'customer', '2026-11-03 10:00Z'),
              ('ab-c1', 'order', '2026-11-01 10:00Z'), (U&'AB\212A1', 'order', '2026-11-01 10:00Z');
            insert into perazzi_sync.reconcile_gaps (store_hash, entity_type, since, until, opened_at) values
              ('  ABC123 ', 'order', '2026-11-01 10:00Z', '2026-11-02 10:00Z', '2026-11-02 10:00Z'),
              ('Abc123', 'order', '2026-11-03 10:00Z', '2026-11-04 10:00Z', '2026-11-04 10:00Z');
            insert into perazzi_sync.bigcommerce_hook_checks (store_hash, destination, check_started_at, checked_at, report) values
              ('  ABC123 ', 'https://perazzi.example/webhooks/bigcommerce', '2026-11-01 10:00Z', '2026-11-01 10:00Z', '{"n": 1}'),
              ('Abc123', null, '2026-11-10 10:00Z', '2026-11-10 10:00Z', '{"n": 2}');
            insert into perazzi_sync.entity_fetches (store_hash, entity_type, entity_id, fetch_started_at) values
              ('  ABC123 ', 'order', 218, '2026-11-05 10:00Z'), ('Abc123', 'order', 218, '2026-11-02 10:00Z');
            insert into perazzi_sync.reconcile_handoffs (store_hash, entity_type, entity_id, version, handed_at) values
              ('  ABC123 ', 'order', 702, 'v1', '2026-11-01 10:00Z'), ('Abc123', 'order', 702, 'v2', '2026-11-02 10:00Z');
            insert into perazzi_sync.api_budget (store_hash, window_ends_at, requests_left) values
              ('  ABC123 ', '2026-11-10 12:00Z', 100), ('Abc123', '2026-11-10 11:00Z', 20);
            """, new { script });

        Assert.Equal([script], (await database.MigrateAsync()).Applied);

        static DateTime At(string utc) => DateTime.Parse(utc, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal);
        // The earlier watermark of each entity type, so no change between the two is skipped.
        Assert.Equal(
            [("AB\u212A1", "order", At("2026-11-01 10:00Z")), ("ab-c1", "order", At("2026-11-01 10:00Z")),
             ("abc123", "customer", At("2026-11-03 10:00Z")), ("abc123", "order", At("2026-11-01 10:00Z"))],
            (await connection.QueryAsync<(string, string, DateTime)>(
                "select store_hash, entity_type, modified_since from perazzi_sync.reconcile_watermarks order by store_hash collate \"C\", entity_type")).ToList());
        // One gap covering both.
        Assert.Equal(("abc123", At("2026-11-01 10:00Z"), At("2026-11-04 10:00Z")),
            await connection.QuerySingleAsync<(string, DateTime, DateTime)>("select store_hash, since, until from perazzi_sync.reconcile_gaps"));
        // The latest check, with the destination hooks ensure recorded.
        Assert.Equal(("abc123", "https://perazzi.example/webhooks/bigcommerce", At("2026-11-10 10:00Z"), """{"n": 2}"""),
            await connection.QuerySingleAsync<(string, string, DateTime, string)>(
                "select store_hash, destination, checked_at, report::text from perazzi_sync.bigcommerce_hook_checks"));
        // The earlier fetch, so no callback skips a fetch that did not cover it.
        Assert.Equal(("abc123", At("2026-11-02 10:00Z")),
            await connection.QuerySingleAsync<(string, DateTime)>("select store_hash, fetch_started_at from perazzi_sync.entity_fetches"));
        Assert.Equal(("abc123", "v2"),
            await connection.QuerySingleAsync<(string, string)>("select store_hash, version from perazzi_sync.reconcile_handoffs"));
        Assert.Equal(("abc123", At("2026-11-10 12:00Z"), 20),
            await connection.QuerySingleAsync<(string, DateTime, int)>("select store_hash, window_ends_at, requests_left from perazzi_sync.api_budget"));
    }

    [Fact]
    public async Task Two_hosts_migrating_at_once_both_succeed()
    {
        await using var database = await TestDatabase.CreateAsync();

        var outcomes = await Task.WhenAll(database.MigrateAsync(), database.MigrateAsync());

        Assert.Equal(Directory.GetFiles(Path.Combine(RepositoryRoot(), "schema"), "*.sql").Length, outcomes.Sum(o => o.Applied.Count));
    }

    [Fact]
    public async Task Schema_has_every_seed_table_key_and_index()
    {
        await using var database = await TestDatabase.CreateMigratedAsync();
        await using var connection = await database.OpenAsync();

        var indexes = (await connection.QueryAsync<string>("select indexname from pg_indexes where schemaname = 'public'")).ToHashSet();
        string[] seedIndexes =
        [
            "profiles_pkey", "profiles_role_idx", "perazzi_assets_owner_idx", "perazzi_assets_serial_unique",
            "service_events_asset_idx", "service_events_owner_idx", "service_events_source_unique",
            "assistant_conversations_user_idx", "assistant_conversations_last_msg_idx",
            "assistant_messages_conversation_idx", "assistant_messages_user_idx",
            "commerce_customers_user_idx", "commerce_customers_bc_unique",
            "commerce_orders_customer_idx", "commerce_orders_placed_idx", "commerce_orders_bc_unique",
            "commerce_order_items_order_idx", "commerce_order_items_line_unique",
            "audit_log_actor_idx", "audit_log_object_idx", "audit_log_created_idx",
            "documents_owner_idx", "chunks_owner_idx",
        ];
        Assert.Empty(seedIndexes.Except(indexes));

        var rlsOff = await connection.QueryAsync<string>(
            "select relname from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r' and not relrowsecurity");
        Assert.Empty(rlsOff);

        var foreignKeys = (await connection.QueryAsync<string>(
            "select conrelid::regclass || '.' || a.attname || '->' || confrelid::regclass from pg_constraint c " +
            "join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1] where c.contype = 'f'")).ToHashSet();
        string[] expected =
        [
            "profiles.id->auth.users", "perazzi_assets.owner_user_id->auth.users",
            "service_events.asset_id->perazzi_assets", "service_events.owner_user_id->auth.users",
            "assistant_conversations.user_id->auth.users", "assistant_messages.conversation_id->assistant_conversations",
            "assistant_messages.user_id->auth.users", "commerce_customers.user_id->auth.users",
            "commerce_orders.commerce_customer_id->commerce_customers", "commerce_order_items.commerce_order_id->commerce_orders",
            "audit_log.actor_user_id->auth.users", "documents.owner_user_id->auth.users", "chunks.owner_user_id->auth.users",
        ];
        Assert.Empty(expected.Except(foreignKeys));
    }

    [Fact]
    public async Task Updated_at_follows_every_change()
    {
        await using var database = await TestDatabase.CreateMigratedAsync();
        await using var connection = await database.OpenAsync();
        var user = Guid.NewGuid();
        await connection.ExecuteAsync(
            """
            insert into auth.users (id, email) values (@user, 'a@example.com');
            insert into perazzi_assets (owner_user_id, serial_number, created_at, updated_at)
            values (@user, ' mx8-1 ', now() - interval '1 day', now() - interval '1 day');
            """, new { user });

        await connection.ExecuteAsync("update perazzi_assets set model = 'MX8'");

        var (serial, age) = await connection.QuerySingleAsync<(string, TimeSpan)>("select serial_number, now() - updated_at from perazzi_assets");
        Assert.Equal("MX8-1", serial);
        Assert.True(age < TimeSpan.FromMinutes(1), $"updated_at is {age} old");
    }

    /// <summary>
    /// The audit rows' changed_fields, as 0031 lists them: on insert the columns set (a JSON null
    /// inside a value still sets it), on update the columns whose value changed, to null as well;
    /// never the id and timestamps; sorted by name.
    /// </summary>
    [Fact]
    public async Task Audit_rows_name_the_fields_a_write_set_or_changed_in_order()
    {
        await using var database = await TestDatabase.CreateMigratedAsync();
        await using var connection = await database.OpenAsync();
        var user = Guid.NewGuid();
        await connection.ExecuteAsync(
            """
            insert into auth.users (id, email) values (@user, 'a@example.com');
            insert into perazzi_assets (owner_user_id, serial_number, verification_status, verification_method, verified_at)
            values (@user, 'MX8-1', 'verified', 'manual', now());
            """, new { user });
        string[] writes =
        [
            """
            insert into service_events (asset_id, owner_user_id, source_system, source_record_id, status, attachments, raw_payload, source_modified_at)
            select id, owner_user_id, 'perazzi_pos', 'WO-1', 'open', '[]', '{"note": null}', now() - interval '2 hours' from perazzi_assets
            """,
            "update service_events set status = 'completed', work_summary = 'Springs replaced', source_modified_at = now() - interval '1 hour'",
            "update service_events set work_summary = null, service_date = now() - interval '1 day', source_modified_at = now()",
        ];
        foreach (var write in writes)
        {
            await connection.ExecuteAsync(write);
        }

        var fields = (await connection.QueryAsync<string>(
            "select metadata->>'changed_fields' from audit_log where object_type = 'service_event' order by (metadata->>'version')::timestamptz")).ToList();
        Assert.Equal(
            [
                """["asset_id", "attachments", "owner_user_id", "raw_payload", "source_modified_at", "source_record_id", "source_system", "status"]""",
                """["source_modified_at", "status", "work_summary"]""",
                """["service_date", "source_modified_at", "work_summary"]""",
            ],
            fields);
    }

    static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "PerazziSync.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("PerazziSync.sln not found above " + AppContext.BaseDirectory);
    }
}
