using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Operations.Tests;

/// <summary>
/// <c>parked retry</c> leaves one audit row per event it re-attempts, with who did it; for
/// BigCommerce exactly for the re-sends the broker confirmed.
/// </summary>
public sealed class ParkedRetryAuditTests : IAsyncLifetime
{
    TestDatabase _database = null!;
    TestVirtualHost _broker = null!;
    Cli _cli = null!;
    string _login = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateMigratedAsync();
        _broker = await TestVirtualHost.CreateAsync();
        _cli = new Cli(_database.ConnectionString, _broker.AmqpUri);
        _login = new NpgsqlConnectionStringBuilder(_database.ConnectionString).Username!;
        await using var connection = await _database.OpenAsync();
        await PortalUsers.SeedAsync(connection);
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Each_retried_pos_record_gets_an_audit_row_with_its_outcome_and_who_retried_it()
    {
        var export = Path.Combine(Path.GetTempPath(), $"pos-{Guid.NewGuid():N}.ndjson");
        await File.WriteAllLinesAsync(export,
        [
            """{"source_record_id":"WO-R-1","serial_number":"PZ-LATE-0001","status":"completed","service_date":"2026-03-14T16:00:00+01:00","work_summary":"Stock refit","attachments":[],"updated_at":"2026-03-15T09:00:00+01:00"}""",
            """{"source_record_id":"WO-R-2","serial_number":"PZ-LATE-0002","status":"received","service_date":"2026-03-16T10:00:00+01:00","work_summary":"Intake","attachments":[],"updated_at":"2026-03-16T10:05:00+01:00"}""",
        ]);
        try
        {
            var import = await _cli.RunAsync("pos", "import", export);
            Assert.True(import.ExitCode == 0, import.Output);
        }
        finally
        {
            File.Delete(export);
        }
        await using var connection = await _database.OpenAsync();
        await connection.ExecuteAsync("""
            insert into perazzi_assets (owner_user_id, serial_number, model, verification_status)
            values (@Jane, 'PZ-LATE-0001', 'MX2000', 'verified')
            """, new { PortalUsers.Jane });

        var retry = await _cli.RunAsync("parked", "retry", "--source", "perazzi_pos", "--as", "ops.frank");

        Assert.True(retry.ExitCode == 0, retry.Output);
        Assert.Contains("POS: 1 attached, 1 still parked.", retry.Output, StringComparison.Ordinal);
        var audit = (await connection.QueryAsync<(string ObjectType, string ObjectId, string Source, string Reason, string Outcome, string? ReasonNow)>("""
            select object_type, object_id, metadata->>'source_system', metadata->>'reason', metadata->>'outcome', metadata->>'reason_now'
            from audit_log where action = 'parked.retry' order by object_id
            """)).ToList();
        Assert.Equal(
            [
                ("parked_event", "WO-R-1", "perazzi_pos", "unknown_serial", "attached", null),
                ("parked_event", "WO-R-2", "perazzi_pos", "unknown_serial", "parked", "unknown_serial"),
            ],
            audit);
        await AssertRetriedByAsync(connection, "ops.frank", 2);
        // The attached record's own change row points back to the same retry.
        Assert.Equal(1, await connection.ExecuteScalarAsync<long>("""
            select count(*) from audit_log r join audit_log e on e.metadata->>'delivery_id' = r.metadata->>'delivery_id'
            where r.action = 'parked.retry' and r.object_id = 'WO-R-1'
              and e.action = 'service_event.upsert' and e.metadata->>'source_key' = 'WO-R-1'
            """));
    }

    [Fact]
    public async Task A_retried_bigcommerce_event_gets_an_audit_row_naming_the_delivery_and_message_the_broker_confirmed()
    {
        await using var connection = await _database.OpenAsync();
        await ParkAsync(connection, "order:701", nameof(BigCommerceOrderChanged),
            JsonSerializer.Serialize(new BigCommerceOrderChanged("teststore", 701, "store/order/created", "wh-701", DateTimeOffset.UtcNow.AddHours(-1))));
        var probe = await _broker.ProbeAsync<BigCommerceOrderChanged>();

        var retry = await _cli.RunAsync("parked", "retry", "--source", "bigcommerce", "--as", "ops.gina");

        Assert.True(retry.ExitCode == 0, retry.Output);
        var (messageId, body) = Assert.Single(await _broker.DrainAsync(probe));
        var sent = JsonNode.Parse(body)!;
        Assert.Equal(701, sent["message"]!["orderId"]!.GetValue<long>());
        var audit = (await connection.QueryAsync<(string ObjectType, string ObjectId, string Source, string Reason, string MessageId, string DeliveryId)>("""
            select object_type, object_id, metadata->>'source_system', metadata->>'reason', metadata->>'message_id', metadata->>'delivery_id'
            from audit_log where action = 'parked.retry'
            """)).ToList();
        Assert.Equal(
            [("parked_event", "order:701", "bigcommerce", "no_confirmed_portal_user", messageId!, sent["message"]!["webhookId"]!.GetValue<string>())],
            audit);
        await AssertRetriedByAsync(connection, "ops.gina", 1);
    }

    [Fact]
    public async Task An_interrupted_retry_audits_the_re_send_the_broker_confirmed_and_not_the_one_it_refused()
    {
        await using var connection = await _database.OpenAsync();
        await ParkAsync(connection, "order:702", nameof(BigCommerceOrderChanged),
            JsonSerializer.Serialize(new BigCommerceOrderChanged("teststore", 702, "store/order/created", "wh-702", DateTimeOffset.UtcNow.AddHours(-1))));
        await ParkAsync(connection, "customer:72", nameof(BigCommerceCustomerChanged),
            JsonSerializer.Serialize(new BigCommerceCustomerChanged("teststore", 72, "store/customer/updated", "wh-72", DateTimeOffset.UtcNow.AddHours(-1))));
        var orders = await _broker.ProbeAsync<BigCommerceOrderChanged>();
        var customerExchange = $"{typeof(BigCommerceCustomerChanged).Namespace}:{nameof(BigCommerceCustomerChanged)}";
        await _broker.RefusePublishesToAsync(customerExchange);

        await using var retry = _cli.Start("parked", "retry", "--source", "bigcommerce", "--as", "ops.hugo");
        // The order goes first and is confirmed; the bus keeps retrying the refused customer until interrupted.
        var refused = await ProductUnderTest.EventuallyAsync(
            "the broker to refuse the customer's re-send",
            () => Task.FromResult(retry.Output), o => o.Contains("ACCESS_REFUSED", StringComparison.Ordinal) || retry.HasExited, TimeSpan.FromSeconds(60));
        Assert.True(refused.Contains("ACCESS_REFUSED", StringComparison.Ordinal), "waited for the broker to refuse the customer's re-send:\n" + refused);
        var exitCode = await retry.StopAsync(TimeSpan.FromSeconds(30));

        Assert.True(exitCode == 1, $"exit code {exitCode}:\n{retry.Output}");
        Assert.Contains("a re-send was not confirmed", retry.Output, StringComparison.Ordinal);
        var (messageId, _) = Assert.Single(await _broker.DrainAsync(orders));
        var audit = (await connection.QueryAsync<(string ObjectId, string MessageId)>(
            "select object_id, metadata->>'message_id' from audit_log where action = 'parked.retry'")).ToList();
        Assert.Equal([("order:702", messageId!)], audit);
    }

    static Task<int> ParkAsync(NpgsqlConnection connection, string key, string messageType, string message) =>
        connection.ExecuteAsync("""
            insert into perazzi_sync.parked_events (source_system, source_key, reason, message_type, message)
            values ('bigcommerce', @Key, 'no_confirmed_portal_user', @MessageType, @Message::jsonb)
            """, new { Key = key, MessageType = messageType, Message = message });

    /// <summary>Every parked.retry row names the claimed operator beside the OS user, host and database login.</summary>
    async Task AssertRetriedByAsync(NpgsqlConnection connection, string claimed, int rows)
    {
        var identities = (await connection.QueryAsync<(string Operator, string OsUser, string Host, string DbUser)>("""
            select metadata->>'operator', metadata->>'os_user', metadata->>'host', metadata->>'db_session_user'
            from audit_log where action = 'parked.retry' and actor_role = 'operator'
            """)).ToList();
        Assert.Equal(Enumerable.Repeat((claimed, Environment.UserName, Environment.MachineName, _login), rows), identities);
    }
}
