using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;
using Xunit.Abstractions;

namespace PerazziSync.Pos.Tests;

/// <summary>PostgreSQL unreachable for a minute while callbacks flow: everything applied afterwards, nothing dead-lettered.</summary>
public sealed class DatabaseOutageTests(ITestOutputHelper output) : IAsyncLifetime
{
    const int Callbacks = 1_000;
    ProductWithCuttableDatabase _stack = null!;

    TcpProxy Proxy => _stack.Proxy;

    ProductUnderTest Product => _stack.Product;

    public async Task InitializeAsync() => _stack = await ProductWithCuttableDatabase.StartAsync();

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    [Fact]
    public async Task Every_callback_is_applied_after_a_60_second_database_outage_and_none_is_dead_lettered()
    {
        const string Input = Queues.PosServiceRecordReceived;
        var accepted = 0;
        // Held by the sender while a callback is on its way, and by the test to count with none in flight.
        using var sender = new SemaphoreSlim(1, 1);
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < Callbacks; i++)
            {
                var record = PosCallbacks.For(string.Create(CultureInfo.InvariantCulture, $"WO-O-{i:D5}"));
                await sender.WaitAsync();
                try
                {
                    var response = await Product.PosWebhooks.SendAsync(record);
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    accepted++;
                }
                finally
                {
                    sender.Release();
                }
                await Task.Delay(20);
            }
        });
        await using var connection = await Product.OpenDatabaseAsync();
        Task<long> AppliedAsync() => connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like 'WO-O-%'");
        await ProductUnderTest.EventuallyAsync("100 callbacks applied before the outage", AppliedAsync, n => n >= 100, diagnostics: Product.Logs);

        Proxy.Cut();
        var cut = DateTime.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(20));
        // The circuit is open: every callback accepted since is in the input queue, none consumed,
        // retried to _error or lost; the worker holds no more than its prefetch at the circuit's gate.
        // Counted with the sender paused; the broker's count of unacknowledged messages lags by a
        // few seconds, hence the wait. A record whose commit reached the server just as the cut
        // lost its reply is both applied and still queued (its redelivery will find it unchanged),
        // so the sum may exceed what was accepted, never fall short of it.
        await sender.WaitAsync();
        var (applied, queue, deadLettered) = await ProductUnderTest.EventuallyAsync(
            $"every accepted callback applied before the outage or waiting in {Input}, none dead-lettered",
            async () => (await AppliedAsync(), await Product.Broker.QueueAsync(Input), await Product.Broker.DeadLetteredAsync(Input)),
            state => state.Item1 + state.Item2.Messages >= accepted && state.Item3 == 0,
            TimeSpan.FromSeconds(15), () => $"{accepted} accepted\n{Product.Logs()}");
        var waiting = queue.Messages;
        var prefetch = await Product.Broker.PrefetchAsync(Input);
        Assert.True(queue.Unacknowledged <= prefetch, $"the worker took more than its prefetch of {prefetch}: {queue}");
        Assert.True(waiting > 100, $"too few callbacks arrived during the outage for the test to show anything: {queue}");
        Assert.Equal(applied, await AppliedAsync());
        Assert.Contains("consumption paused", Product.Logs(), StringComparison.Ordinal);
        sender.Release();
        await Task.Delay(cut + TimeSpan.FromSeconds(60) - DateTime.UtcNow);
        Proxy.Start();
        await sending;

        await ProductUnderTest.EventuallyAsync(
            $"all {Callbacks} callbacks applied after the outage", AppliedAsync, n => n == Callbacks, TimeSpan.FromSeconds(120), Product.Logs);
        Assert.Equal(Callbacks, await connection.ExecuteScalarAsync<long>(
            "select count(*) from audit_log where action = 'service_event.upsert' and metadata->>'source_key' like 'WO-O-%'"));
        Assert.Equal(0u, await Product.Broker.DeadLetteredAsync(Input));
        Assert.Contains("consumption resumed", Product.Logs(), StringComparison.Ordinal);
        output.WriteLine($"PostgreSQL cut off for 60 s under {Callbacks} callbacks: 20 s in, {applied} applied before it and {waiting} waiting in the queue " +
            $"({queue.Unacknowledged} of them held by the worker); {Callbacks} applied and audited once afterwards, 0 dead-lettered");
        Assert.Equal(1, Product.Workers.Count(w => !w.HasExited));
    }
}
