using Dapper;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PerazziSync.Contracts;
using PerazziSync.Data;
using PerazziSync.Pos.Records;
using PerazziSync.Testing;
using PerazziSync.Worker.Pos;
using PerazziSync.Worker.Sync;
using Xunit;

namespace PerazziSync.Pos.Tests;

/// <summary>
/// The worker's POS consumer in-process, through MassTransit's test harness and its own endpoint
/// definition, on the real database: what a callback does, without a receiver, a broker or a
/// worker process, which add nothing to these rules.
/// </summary>
public sealed class PosConsumerTests : IAsyncLifetime
{
    readonly PosRecordParser _parser = new(TimeZoneInfo.FindSystemTimeZoneById("Europe/Rome"), TimeProvider.System, new PosOptions().UpdatedAtMaxAhead);
    TestDatabase _database = null!;
    IHost _host = null!;
    ITestHarness _harness = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreatePortalAsync();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration["ConnectionStrings:Postgres"] = _database.ConnectionString;
        builder.Services.AddSingleton(TimeProvider.System);
        builder.AddPortalDatabase();
        builder.AddSyncEndpoints();
        builder.Services.AddMassTransitTestHarness(bus =>
        {
            // The harness decides "not consumed" after this long without activity; the database
            // checks between messages take longer than its default.
            bus.SetTestTimeouts(testInactivityTimeout: TimeSpan.FromSeconds(10));
            bus.AddPosConsumers();
        });
        _host = builder.Build();
        await _host.StartAsync();
        _harness = _host.Services.GetTestHarness();
    }

    public async Task DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        await _database.DisposeAsync();
    }

    PosServiceRecord Record(string id, string updatedAt, string status) =>
        _parser.FromJson(System.Text.Json.JsonDocument.Parse(PosCallbacks.For(id, updatedAt, status)).RootElement, PosCallbacks.For(id, updatedAt, status)).Record!;

    async Task<Guid> ConsumeAsync(PosServiceRecord record, string webhookId)
    {
        var messageId = NewId.NextGuid();
        await _harness.Bus.Publish(new PosServiceRecordReceived(record, webhookId, DateTimeOffset.UtcNow), context => context.MessageId = messageId);
        var consumed = await _harness.Consumed.SelectAsync<PosServiceRecordReceived>(c => c.Context.MessageId == messageId).FirstOrDefault();
        Assert.True(consumed is not null, $"message {messageId} was not consumed");
        Assert.Null(consumed.Exception);
        return messageId;
    }

    async Task<(string Status, long Audit, string? MessageId, string? DeliveryId)> StoredAsync(string id)
    {
        await using var connection = await _database.OpenAsync();
        return await connection.QuerySingleAsync<(string, long, string?, string?)>(
            """
            select e.status,
                   (select count(*) from audit_log a where a.metadata->>'source_key' = @id),
                   (select a.metadata->>'message_id' from audit_log a where a.metadata->>'source_key' = @id order by a.created_at desc limit 1),
                   (select a.metadata->>'delivery_id' from audit_log a where a.metadata->>'source_key' = @id order by a.created_at desc limit 1)
            from service_events e where e.source_record_id = @id
            """, new { id });
    }

    [Fact]
    public async Task A_callback_is_applied_once_and_its_audit_row_names_its_message_and_delivery()
    {
        var messageId = await ConsumeAsync(Record("WO-C-1", "2026-03-20T10:00:00Z", "received"), "wh-c-1");

        Assert.Equal(("received", 1L, messageId.ToString(), "wh-c-1"), await StoredAsync("WO-C-1"));
    }

    [Fact]
    public async Task A_redelivery_changes_nothing_and_an_older_version_is_stale_while_a_newer_one_is_applied()
    {
        var first = await ConsumeAsync(Record("WO-C-2", "2026-03-20T10:00:00Z", "in_service"), "wh-c-2");
        await ConsumeAsync(Record("WO-C-2", "2026-03-20T10:00:00Z", "in_service"), "wh-c-2");
        await ConsumeAsync(Record("WO-C-2", "2026-03-19T10:00:00Z", "received"), "wh-c-3");

        Assert.Equal(("in_service", 1L, first.ToString(), "wh-c-2"), await StoredAsync("WO-C-2"));

        var newer = await ConsumeAsync(Record("WO-C-2", "2026-03-21T10:00:00Z", "completed"), "wh-c-4");

        Assert.Equal(("completed", 2L, newer.ToString(), "wh-c-4"), await StoredAsync("WO-C-2"));
    }

    [Fact]
    public async Task A_record_of_an_unknown_serial_is_parked_with_its_reason_and_writes_no_row()
    {
        var record = Record("WO-C-3", "2026-03-20T10:00:00Z", "received") with { SerialNumber = "NO-SUCH-SERIAL" };

        await ConsumeAsync(record, "wh-c-5");

        await using var connection = await _database.OpenAsync();
        Assert.Equal("unknown_serial", await connection.ExecuteScalarAsync<string>(
            "select reason from perazzi_sync.parked_events where source_key = 'WO-C-3' and resolved_at is null"));
        Assert.Equal(0L, await connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id = 'WO-C-3'"));
    }

    [Fact]
    public async Task A_callback_for_a_gun_whose_owner_is_deleted_while_it_is_written_is_parked_not_dead_lettered()
    {
        await using var connection = await _database.OpenAsync();
        var owner = Guid.NewGuid();
        await connection.ExecuteAsync(
            """
            insert into auth.users (id, email, email_confirmed_at) values (@owner, 'leaving@example.com', now());
            insert into profiles (id, email, display_name) values (@owner, 'leaving@example.com', 'Leaving');
            insert into perazzi_assets (owner_user_id, serial_number, model, verification_status, verification_method)
            values (@owner, 'MX8-GONE01', 'MX8', 'verified', 'dealer_review');
            """, new { owner });
        // GoTrue deleting the account: the cascade takes the gun, and has not committed yet.
        await using var deleting = await _database.OpenAsync();
        await using var deletion = await deleting.BeginTransactionAsync();
        await deleting.ExecuteAsync("delete from auth.users where id = @owner", new { owner }, deletion);

        var record = Record("WO-C-GONE", "2026-03-20T10:00:00Z", "received") with { SerialNumber = "MX8-GONE01" };
        await _harness.Bus.Publish(new PosServiceRecordReceived(record, "wh-c-gone", DateTimeOffset.UtcNow));
        await ProductUnderTest.EventuallyAsync(
            "the callback's write waiting for the deletion",
            () => connection.ExecuteScalarAsync<long>(
                "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%pos_incoming%'"),
            n => n == 1);
        await deletion.CommitAsync();

        Assert.Equal("unknown_serial", await ProductUnderTest.EventuallyAsync(
            "the callback parked, its gun gone",
            () => connection.ExecuteScalarAsync<string?>(
                "select reason from perazzi_sync.parked_events where source_key = 'WO-C-GONE' and resolved_at is null"),
            reason => reason is not null));
        Assert.False(await _harness.Published.Any<Fault<PosServiceRecordReceived>>(), "the callback was dead-lettered");
        Assert.Equal(0L, await connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id = 'WO-C-GONE'"));
    }
}
