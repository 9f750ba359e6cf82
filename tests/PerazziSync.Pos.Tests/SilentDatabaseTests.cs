using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Pos.Tests;

/// <summary>
/// A connection of the worker's that stops answering in the middle of a group's write, the
/// connection still open (a half-open connection, a hung pooler): on the real database and
/// broker, with the worker reaching PostgreSQL through a proxy that freezes it. Meanwhile the
/// worker's readiness reports the queue stalled, which neither the broker's nor the database's
/// check can see.
/// </summary>
public sealed class SilentDatabaseTests : IAsyncLifetime
{
    const string Input = Queues.PosServiceRecordReceived;
    const string Id = "WO-Q-001";
    static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(10);
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(20) };

    ProductWithCuttableDatabase _stack = null!;

    ProductUnderTest Product => _stack.Product;

    public async Task InitializeAsync() => _stack = await ProductWithCuttableDatabase.StartAsync(new Dictionary<string, string>
    {
        ["Pos__CallbackWriteTimeout"] = WriteTimeout.ToString(),
        ["Health__StalledAfter"] = "00:00:01",
    });

    /// <summary>The worker's <c>/health/ready</c>: its status code, and the status and data of its check of the consumers.</summary>
    async Task<(HttpStatusCode Code, string? Consumers, string Body)> ReadyAsync()
    {
        using var response = await Http.GetAsync(Product.WorkerManagementUrls[0] + "/health/ready");
        var body = await response.Content.ReadAsStringAsync();
        var consumers = JsonNode.Parse(body)?["checks"]?["consumers"];
        return (response.StatusCode, consumers?["status"]?.GetValue<string>(), body);
    }

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    [Fact]
    public async Task A_group_whose_connection_falls_silent_is_reported_stalled_then_retried_on_another_after_the_write_timeout_and_lands_once()
    {
        var ready = await ReadyAsync();
        Assert.Equal((HttpStatusCode.OK, "Healthy"), (ready.Code, ready.Consumers));
        await using var connection = await Product.OpenDatabaseAsync();
        // An uncommitted insert of the record: the group's statement waits for it, its transaction open.
        var serial = JsonNode.Parse(PosCallbacks.Fixture())!["serial_number"]!.GetValue<string>();
        await using var blocker = await Product.OpenDatabaseAsync();
        await using (var holding = await blocker.BeginTransactionAsync())
        {
            await blocker.ExecuteAsync("""
                insert into service_events (asset_id, owner_user_id, source_system, source_record_id, status)
                select id, owner_user_id, 'perazzi_pos', @Id, 'received' from perazzi_assets where serial_number = upper(btrim(@Serial))
                """, new { Id, Serial = serial }, holding);
            await ServiceEvents.SendUntilAcceptedAsync(Product, PosCallbacks.For(Id));
            await ProductUnderTest.EventuallyAsync(
                "the group's statement waiting for the uncommitted insert",
                () => connection.ExecuteScalarAsync<long>("""
                    select count(*) from pg_stat_activity
                    where datname = current_database() and wait_event_type = 'Lock' and query like '%pos_incoming%'
                    """),
                n => n == 1, diagnostics: Product.Logs);

            // From now on nothing the database says on that connection reaches the worker: the
            // statement goes on once the insert is rolled back, inserts the row and its answer is lost.
            _stack.Proxy.Freeze();
            await holding.RollbackAsync();
        }
        Task<long> SilentAsync() => connection.ExecuteScalarAsync<long>("""
            select count(*) from pg_stat_activity
            where datname = current_database() and state like 'idle in transaction%' and query like '%pos_incoming%'
            """);
        await ProductUnderTest.EventuallyAsync(
            "the statement done, its session idle in the group's transaction", SilentAsync, n => n == 1, diagnostics: Product.Logs);
        // Every check answers within 5 s, the database's too, though its pooled connection went silent with the others.
        var stalled = await ProductUnderTest.EventuallyAsync(
            "the worker's readiness to report its POS queue stalled", ReadyAsync,
            ready => ready.Code == HttpStatusCode.ServiceUnavailable && ready.Consumers == "Unhealthy", diagnostics: Product.Logs);
        Assert.Contains($"\"{Input}\":\"1 message(s) under way", stalled.Body, StringComparison.Ordinal);
        await ProductUnderTest.EventuallyAsync(
            "that session ended by PostgreSQL after the write timeout", SilentAsync, n => n == 0, TimeSpan.FromSeconds(30), Product.Logs);

        await ProductUnderTest.EventuallyAsync(
            "the callback written on another connection",
            () => connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id = @Id", new { Id }),
            n => n == 1, TimeSpan.FromSeconds(60), Product.Logs);
        Assert.Equal(1L, await connection.ExecuteScalarAsync<long>(
            "select count(*) from audit_log where action = 'service_event.upsert' and metadata->>'source_key' = @Id", new { Id }));
        Assert.Equal(0u, await Product.Broker.DeadLetteredAsync(Input));
        await ProductUnderTest.EventuallyAsync(
            "the worker's readiness healthy again", ReadyAsync, ready => ready is (HttpStatusCode.OK, "Healthy", _), diagnostics: Product.Logs);
    }
}
