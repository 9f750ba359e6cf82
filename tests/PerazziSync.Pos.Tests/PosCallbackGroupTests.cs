using System.Globalization;
using Dapper;
using MassTransit;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Pos.Tests;

/// <summary>
/// POS callbacks written by a worker process in groups, on the real database and broker: each
/// message keeps its own audit row, its own outcome and its own failure. The callbacks are put on
/// the stopped worker's queue first, and the worker waits up to 3 s for a group to fill (a cold
/// worker on a busy machine takes a while to pass its first messages through MassTransit), so
/// that they are taken together; its log says how many each group held.
/// </summary>
public sealed class PosCallbackGroupTests : IAsyncLifetime
{
    const string Input = Queues.PosServiceRecordReceived;
    const string Serial = "HT-009871";

    static readonly Dictionary<string, string> GroupSettings = new()
    {
        ["Pos__CallbackGroupWait"] = "00:00:03",
        ["Logging__LogLevel__PerazziSync.Worker.Pos.PosCallbackCommitter"] = "Debug",
    };

    ProductWithCuttableDatabase _stack = null!;

    ProductUnderTest Product => _stack.Product;

    public async Task InitializeAsync()
    {
        _stack = await ProductWithCuttableDatabase.StartAsync(GroupSettings);
        // The worker has declared its queue; the callbacks wait there until a worker starts again.
        await Product.Workers[0].DisposeAsync();
    }

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    static string Id(string prefix, int i) => string.Create(CultureInfo.InvariantCulture, $"{prefix}-{i:D3}");

    static PosServiceRecord Record(string id, DateTimeOffset updatedAt, string status = "completed", string rawPayload = "{}") =>
        new(id, Serial, status, updatedAt.AddDays(-1), "Annual service", [], updatedAt, rawPayload);

    /// <summary>Publishes each callback with its own message id and webhook id (its delivery id), in order; returns the message ids.</summary>
    async Task<List<Guid>> PublishAsync(IEnumerable<(PosServiceRecord Record, string WebhookId)> callbacks)
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit => rabbit.Host(new Uri(Product.Broker.AmqpUri), host => host.PublisherConfirmation = true));
        await bus.StartAsync();
        try
        {
            var ids = new List<Guid>();
            foreach (var (record, webhookId) in callbacks)
            {
                var messageId = NewId.NextGuid();
                await bus.Publish(new PosServiceRecordReceived(record, webhookId, DateTimeOffset.UtcNow), context => context.MessageId = messageId);
                ids.Add(messageId);
            }
            return ids;
        }
        finally
        {
            await bus.StopAsync();
        }
    }

    static Task<long> RowsAsync(Npgsql.NpgsqlConnection connection, string prefix) =>
        connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like @Prefix", new { Prefix = prefix + "-%" });

    /// <summary>
    /// Waits for the worker's line about a group of <paramref name="callbacks"/>, which it writes
    /// once every one of them has its outcome; <paramref name="inOneTransaction"/>: the group was
    /// written at once, not split because a write of it failed.
    /// </summary>
    async Task AssertOneGroupOfAsync(int callbacks, bool inOneTransaction = false)
    {
        var line = $" {callbacks} POS callbacks written in " + (inOneTransaction ? "1 transaction(s)" : "");
        await ProductUnderTest.EventuallyAsync(
            $"the worker to say it wrote the {callbacks} callbacks as one group{(inOneTransaction ? " in one transaction" : "")}",
            () => Task.FromResult(Product.Logs()), logs => logs.Contains(line, StringComparison.Ordinal), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_group_with_one_refused_record_commits_the_others_and_dead_letters_only_that_one()
    {
        var now = DateTimeOffset.UtcNow;
        var callbacks = Enumerable.Range(0, 20).Select(i => (Record(Id("WO-P", i), now), Id("wh-p", i))).ToList();
        // A NUL escape, which jsonb refuses; the receiver would have rejected it, a replayed or hand-made message need not.
        callbacks.Insert(7, (Record("WO-P-POISON", now, rawPayload: """{"note":"\u0000"}"""), "wh-p-poison"));
        var messageIds = await PublishAsync(callbacks);

        await Product.StartWorkerAsync();

        await using var connection = await Product.OpenDatabaseAsync();
        var deadLettered = await ProductUnderTest.EventuallyAsync(
            $"the refused record in {Input}_error and the other 20 applied",
            async () => (await RowsAsync(connection, "WO-P"), await Product.Broker.DeadLetteredAsync(Input)),
            state => state.Item1 == 20 && state.Item2 == 1, diagnostics: Product.Logs);
        Assert.Equal((20L, 1u), deadLettered);
        await AssertOneGroupOfAsync(21);
        var letters = await Product.Broker.DrainWithHeadersAsync(Input + Queues.ErrorSuffix);
        var letter = Assert.Single(letters);
        Assert.Equal(messageIds[7].ToString(), letter.MessageId);
        Assert.Contains("PostgresException", letter.Headers["MT-Fault-ExceptionType"], StringComparison.Ordinal);
        Assert.Equal(0L, await connection.ExecuteScalarAsync<long>(
            "select count(*) from service_events where source_record_id = 'WO-P-POISON'"));
    }

    [Fact]
    public async Task Each_audit_row_of_a_group_names_its_own_message_and_delivery()
    {
        var now = DateTimeOffset.UtcNow;
        var callbacks = Enumerable.Range(0, 30).Select(i => (Record(Id("WO-M", i), now), Id("wh-m", i))).ToList();
        var messageIds = await PublishAsync(callbacks);

        await Product.StartWorkerAsync();

        await using var connection = await Product.OpenDatabaseAsync();
        await ProductUnderTest.EventuallyAsync("30 callbacks applied", () => RowsAsync(connection, "WO-M"), n => n == 30, diagnostics: Product.Logs);
        await AssertOneGroupOfAsync(30, inOneTransaction: true);
        var audited = (await connection.QueryAsync<(string Key, string? MessageId, string? DeliveryId, string? TraceId)>("""
            select metadata->>'source_key', metadata->>'message_id', metadata->>'delivery_id', metadata->>'trace_id'
            from audit_log where action = 'service_event.upsert' and metadata->>'source_key' like 'WO-M-%'
            order by metadata->>'source_key'
            """)).ToList();
        Assert.Equal(
            callbacks.Select((c, i) => (c.Item1.SourceRecordId, (string?)messageIds[i].ToString(), (string?)c.Item2)),
            audited.Select(a => (a.Key, a.MessageId, a.DeliveryId)));
        // Each consume is a trace of its own, and its audit row leads to it.
        Assert.Equal(30, audited.Select(a => a.TraceId).Where(t => t is { Length: 32 }).Distinct().Count());
    }

    [Fact]
    public async Task Two_versions_of_one_record_in_one_group_keep_the_newer_whichever_came_first()
    {
        var now = DateTimeOffset.UtcNow;
        var older = now.AddHours(-1);
        var messageIds = await PublishAsync(
        [
            (Record("WO-V-001", older, "received"), "wh-v-1"),
            (Record("WO-V-001", now, "completed"), "wh-v-2"),
            (Record("WO-V-002", now, "completed"), "wh-v-3"),
            (Record("WO-V-002", older, "received"), "wh-v-4"),
        ]);

        await Product.StartWorkerAsync();

        await using var connection = await Product.OpenDatabaseAsync();
        await AssertOneGroupOfAsync(4, inOneTransaction: true);
        var stored = (await connection.QueryAsync<(string Id, string Status, string? MessageId)>("""
            select e.source_record_id, e.status,
                   (select a.metadata->>'message_id' from audit_log a where a.metadata->>'source_key' = e.source_record_id)
            from service_events e where e.source_record_id like 'WO-V-%' order by 1
            """)).ToList();
        Assert.Equal([("WO-V-001", "completed", messageIds[1].ToString()), ("WO-V-002", "completed", messageIds[2].ToString())], stored);
        Assert.Equal(2L, await connection.ExecuteScalarAsync<long>(
            "select count(*) from audit_log where metadata->>'source_key' like 'WO-V-%'"));
        Assert.Equal(0u, await Product.Broker.DeadLetteredAsync(Input));
    }

    [Fact]
    public async Task A_database_cut_in_the_middle_of_a_group_dead_letters_nothing_and_every_record_lands_once_when_it_returns()
    {
        const int Callbacks = 50;
        var now = DateTimeOffset.UtcNow;
        await PublishAsync(Enumerable.Range(0, Callbacks).Select(i => (Record(Id("WO-D", i), now), Id("wh-d", i))));

        // An insert of one of the group's records, uncommitted: the group's statement waits for it
        // with its transaction open, and the database is cut right then.
        await using var blocker = await Product.OpenDatabaseAsync();
        await using var holding = await blocker.BeginTransactionAsync();
        await ServiceEvents.HoldAsync(holding, "WO-D-025", Serial);

        await Product.StartWorkerAsync();
        await using var connection = await Product.OpenDatabaseAsync();
        await ServiceEvents.WaitForHeldWriteAsync(Product, connection, "the group's statement waiting for the uncommitted insert");
        _stack.Proxy.Cut();
        await holding.RollbackAsync();
        await ProductUnderTest.EventuallyAsync(
            "the worker to pause on the outage", () => Task.FromResult(Product.Logs()), logs => logs.Contains("consumption paused", StringComparison.Ordinal));
        Assert.Equal(0L, await RowsAsync(connection, "WO-D"));
        _stack.Proxy.Start();

        await ProductUnderTest.EventuallyAsync(
            $"all {Callbacks} callbacks applied after the outage", () => RowsAsync(connection, "WO-D"), n => n == Callbacks,
            TimeSpan.FromSeconds(60), Product.Logs);
        var audits = (await connection.QueryAsync<(string Key, long Rows)>("""
            select metadata->>'source_key', count(*) from audit_log
            where action = 'service_event.upsert' and metadata->>'source_key' like 'WO-D-%' group by 1 order by 1
            """)).ToList();
        Assert.Equal(Enumerable.Range(0, Callbacks).Select(i => (Id("WO-D", i), 1L)), audits);
        // A message is acknowledged after its commit, and the broker's statistics lag behind.
        await ProductUnderTest.EventuallyAsync(
            $"the {Callbacks} callbacks acknowledged", async () => (await Product.Broker.QueueAsync(Input)).Messages, n => n == 0,
            diagnostics: Product.Logs);
        Assert.Equal(0u, await Product.Broker.DeadLetteredAsync(Input));
        Assert.Contains("consumption resumed", Product.Logs(), StringComparison.Ordinal);
    }
}
