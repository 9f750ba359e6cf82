using System.Data;
using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Pos.Tests;

/// <summary>
/// A connection of the worker's that stops answering in the middle of a write, the connection
/// still open (a half-open connection, a hung pooler): on the real database and broker, with the
/// worker reaching PostgreSQL through a proxy that freezes it. A group of callbacks: meanwhile the
/// worker's readiness reports the queue stalled, which neither the broker's nor the database's
/// check can see. A chunk of a drop-folder import: the import gives up and resumes. A batch of the
/// re-match: a later firing attaches the records.
/// </summary>
public sealed class SilentDatabaseTests : IAsyncLifetime
{
    const string Input = Queues.PosServiceRecordReceived;
    const string Id = "WO-Q-001";
    static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(10);
    readonly string _folder = Directory.CreateTempSubdirectory("perazzi-silent-").FullName;
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(20) };

    ProductWithCuttableDatabase _stack = null!;

    ProductUnderTest Product => _stack.Product;

    public async Task InitializeAsync() => _stack = await ProductWithCuttableDatabase.StartAsync(new Dictionary<string, string>
    {
        ["Pos__CallbackWriteTimeout"] = WriteTimeout.ToString(),
        ["Pos__BatchWriteTimeout"] = WriteTimeout.ToString(),
        ["Pos__DropFolder"] = _folder,
        ["Pos__DropFolderCron"] = "0/1 * * * * ?",
        ["Pos__DropFolderSettleTime"] = "00:00:00",
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

    public async Task DisposeAsync()
    {
        await _stack.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>Sessions of the database idle inside a transaction whose last statement read the staged POS records.</summary>
    static Task<long> SilentAsync(IDbConnection connection) => connection.ExecuteScalarAsync<long>("""
        select count(*) from pg_stat_activity
        where datname = current_database() and state like 'idle in transaction%' and query like '%pos_incoming%'
        """);

    /// <summary>
    /// Holds an uncommitted insert of <paramref name="id"/> until a statement staged in
    /// <c>pos_incoming</c> waits for it, then freezes every connection the worker has open and
    /// rolls the insert back: the statement goes on, inserts its rows, and its answer is lost.
    /// </summary>
    async Task FreezeWhileWaitingForAsync(string id, string serial, Func<Task> write)
    {
        await using var connection = await Product.OpenDatabaseAsync();
        await using var blocker = await Product.OpenDatabaseAsync();
        await using var holding = await blocker.BeginTransactionAsync();
        await ServiceEvents.HoldAsync(holding, id, serial);
        await write();
        await ServiceEvents.WaitForHeldWriteAsync(Product, connection, "the worker's statement waiting for the uncommitted insert");
        _stack.Proxy.Freeze();
        await holding.RollbackAsync();
    }

    [Fact]
    public async Task A_group_whose_connection_falls_silent_is_reported_stalled_then_retried_on_another_after_the_write_timeout_and_lands_once()
    {
        var ready = await ReadyAsync();
        Assert.Equal((HttpStatusCode.OK, "Healthy"), (ready.Code, ready.Consumers));
        await using var connection = await Product.OpenDatabaseAsync();
        var serial = JsonNode.Parse(PosCallbacks.Fixture())!["serial_number"]!.GetValue<string>();
        await FreezeWhileWaitingForAsync(Id, serial, () => ServiceEvents.SendUntilAcceptedAsync(Product, PosCallbacks.For(Id)));
        await ProductUnderTest.EventuallyAsync(
            "the statement done, its session idle in the group's transaction", () => SilentAsync(connection), n => n == 1, diagnostics: Product.Logs);
        // Every check answers within 5 s, the database's too, though its pooled connection went silent with the others.
        var stalled = await ProductUnderTest.EventuallyAsync(
            "the worker's readiness to report its POS queue stalled", ReadyAsync,
            ready => ready.Code == HttpStatusCode.ServiceUnavailable && ready.Consumers == "Unhealthy", diagnostics: Product.Logs);
        Assert.Contains($"\"{Input}\":\"1 message(s) under way", stalled.Body, StringComparison.Ordinal);
        await ProductUnderTest.EventuallyAsync(
            "that session ended by PostgreSQL after the write timeout", () => SilentAsync(connection), n => n == 0, TimeSpan.FromSeconds(30), Product.Logs);

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

    [Fact]
    public async Task A_lone_callback_whose_session_postgres_ends_for_idling_in_its_transaction_is_retried_not_dead_lettered()
    {
        const string id = "WO-Q-IDLE";
        await using var connection = await Product.OpenDatabaseAsync();
        await using var blocker = await Product.OpenDatabaseAsync();
        var serial = JsonNode.Parse(PosCallbacks.Fixture())!["serial_number"]!.GetValue<string>();
        await using (var holding = await blocker.BeginTransactionAsync())
        {
            await ServiceEvents.HoldAsync(holding, id, serial);
            await ServiceEvents.SendUntilAcceptedAsync(Product, PosCallbacks.For(id));
            await ServiceEvents.WaitForHeldWriteAsync(Product, connection, "the worker's statement waiting for the uncommitted insert");
            // From now on the worker's requests wait in the proxy while the server's answers still
            // reach it: its statement completes, the next one never arrives, and PostgreSQL ends
            // the session idle in its transaction with a FATAL error the worker does receive.
            _stack.Proxy.HoldRequests();
            await holding.RollbackAsync();
        }
        await ProductUnderTest.EventuallyAsync(
            "the statement done, its session idle in the group's transaction", () => SilentAsync(connection), n => n == 1, diagnostics: Product.Logs);
        await ProductUnderTest.EventuallyAsync(
            "that session ended by PostgreSQL after the write timeout", () => SilentAsync(connection), n => n == 0, TimeSpan.FromSeconds(30), Product.Logs);
        _stack.Proxy.ReleaseRequests();

        await ProductUnderTest.EventuallyAsync(
            "the callback written again on another connection",
            () => connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id = @Id", new { Id = id }),
            n => n == 1, TimeSpan.FromSeconds(60), Product.Logs);
        Assert.Equal(1L, await connection.ExecuteScalarAsync<long>(
            "select count(*) from audit_log where action = 'service_event.upsert' and metadata->>'source_key' = @Id", new { Id = id }));
        Assert.Equal(0u, await Product.Broker.DeadLetteredAsync(Input));
    }

    [Fact]
    public async Task A_drop_folder_import_whose_connection_falls_silent_gives_up_after_the_write_timeout_and_resumes_applying_each_row_once()
    {
        string[] ids = ["WO-SILENT-1", "WO-SILENT-2", "WO-SILENT-3"];
        await using var connection = await Product.OpenDatabaseAsync();
        await FreezeWhileWaitingForAsync(ids[1], "HT-009871", async () =>
        {
            var part = Path.Combine(_folder, ".silent.csv.part");
            await File.WriteAllLinesAsync(part, [
                "source_record_id,serial_number,status,service_date,work_summary,attachments,updated_at",
                .. ids.Select(id => $"{id},HT-009871,completed,2026-03-02T09:15:00+01:00,Annual service,,2026-03-02T09:20:00+01:00")]);
            File.Move(part, Path.Combine(_folder, "silent.csv"));
        });
        await ProductUnderTest.EventuallyAsync(
            "the statement done, its session idle in the chunk's transaction", () => SilentAsync(connection), n => n == 1, diagnostics: Product.Logs);
        await ProductUnderTest.EventuallyAsync(
            "that session ended by PostgreSQL after the write timeout", () => SilentAsync(connection), n => n == 0, TimeSpan.FromSeconds(30), Product.Logs);

        var processed = Path.Combine(_folder, "processed", "silent.csv");
        await ProductUnderTest.EventuallyAsync(
            processed + " to appear, the import resumed on another connection", () => Task.FromResult(File.Exists(processed)),
            exists => exists, TimeSpan.FromSeconds(60), Product.Logs);
        Assert.Equal(("completed", 3L, 3L), await connection.QuerySingleAsync<(string, long, long)>(
            "select status, rows_read, applied from perazzi_sync.pos_imports where file_name = 'silent.csv'"));
        Assert.Equal(ids, (await connection.QueryAsync<string>(
            "select source_record_id from service_events where source_record_id like 'WO-SILENT-%' order by 1")).ToArray());
        Assert.Equal(ids, (await connection.QueryAsync<string>("""
            select metadata->>'source_key' from audit_log
            where action = 'service_event.upsert' and metadata->>'source_key' like 'WO-SILENT-%' order by 1
            """)).ToArray());
        Assert.False(Directory.Exists(Path.Combine(_folder, "failed")));
    }

    [Fact]
    public async Task A_rematch_batch_whose_connection_falls_silent_gives_up_after_the_write_timeout_and_a_later_firing_attaches_the_record_once()
    {
        const string id = "WO-SILENT-REMATCH";
        const string serial = "ZZ-SILENT-1";
        await using var connection = await Product.OpenDatabaseAsync();
        // A gun whose claim was rejected: its records are parked and the re-match passes them by.
        await connection.ExecuteAsync(
            "insert into perazzi_assets (owner_user_id, serial_number, model, verification_status) values (@Marco, @Serial, 'MX8', 'rejected')",
            new { PortalUsers.Marco, Serial = serial });
        await ServiceEvents.SendUntilAcceptedAsync(Product, PosCallbacks.For(id, serialNumber: serial));
        await ProductUnderTest.EventuallyAsync(
            id + " parked", () => ServiceEvents.OpenParkedAsync(connection), parked => parked.ContainsKey(id), diagnostics: Product.Logs);

        await FreezeWhileWaitingForAsync(id, serial, () => connection.ExecuteAsync(
            "update perazzi_assets set verification_status = 'verified' where serial_number = @Serial", new { Serial = serial }));
        await ProductUnderTest.EventuallyAsync(
            "the statement done, its session idle in the batch's transaction", () => SilentAsync(connection), n => n == 1, diagnostics: Product.Logs);
        await ProductUnderTest.EventuallyAsync(
            "that session ended by PostgreSQL after the write timeout", () => SilentAsync(connection), n => n == 0, TimeSpan.FromSeconds(30), Product.Logs);

        await ProductUnderTest.EventuallyAsync(
            id + " attached by a later firing on another connection", () => ServiceEvents.OpenParkedAsync(connection),
            parked => !parked.ContainsKey(id), TimeSpan.FromSeconds(60), Product.Logs);
        Assert.Equal(PortalUsers.Marco, (await ServiceEvents.AllAsync(connection))[id].OwnerUserId);
        Assert.Equal(1L, await ServiceEvents.AuditCountAsync(connection, id));
    }
}
