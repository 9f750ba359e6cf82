using System.Diagnostics;
using System.Net;
using Dapper;
using Npgsql;
using PerazziSync.Testing;
using Xunit;
using Xunit.Abstractions;

namespace PerazziSync.Reliability.Tests;

/// <summary>
/// Faults injected while callbacks flow. Each scenario ends with the ledger: every accepted
/// callback's effect present exactly once, no duplicate audit row, nothing unaccounted for.
/// (PostgreSQL cut off for 60 s is in PerazziSync.Pos.Tests' DatabaseOutageTests.)
/// </summary>
public sealed class FaultInjectionTests(ITestOutputHelper output)
{
    static readonly TimeSpan Patience = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task Kill_9_of_the_worker_in_the_middle_of_10000_callbacks_then_a_restart_loses_and_repeats_nothing()
    {
        var workload = SyncWorkload.Create(workOrders: 10_000, versions: 1, orders: 0, callbacksPerOrder: 0, "WO-KILL", copies: 1);
        await using var product = await ProductUnderTest.StartAsync();
        await using var connection = await product.OpenDatabaseAsync();
        var clock = Stopwatch.StartNew();

        var sending = workload.SendAsync(product);
        var before = await ProductUnderTest.EventuallyAsync(
            "3,000 of the 10,000 records applied before the kill", () => AppliedAsync(connection, "WO-KILL"), n => n >= 3_000, Patience, product.Logs);
        await product.Workers[0].DisposeAsync();
        var atKill = await AppliedAsync(connection, "WO-KILL");
        await product.StartWorkerAsync();
        var statuses = await sending;

        var ledger = await SettleAsync(product, connection, workload, "WO-KILL");
        output.WriteLine($"kill -9 of the worker at {atKill} of 10,000 applied; restarted; {statuses.Count(s => s == HttpStatusCode.OK)} accepted; " +
            $"after {clock.Elapsed.TotalSeconds:0} s: {ledger}");
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.InRange(atKill, before, 9_999);
        Assert.True(ledger.IsExactlyOnce(workload), ledger.ToString());
    }

    [Fact]
    public async Task Broker_unreachable_while_callbacks_arrive_answers_503_and_every_200_is_applied_exactly_once()
    {
        await using var proxy = await ServiceProxies.RabbitMqAsync();
        var workload = SyncWorkload.Create(workOrders: 2_000, versions: 1, orders: 0, callbacksPerOrder: 0, "WO-BRK", copies: 1);
        await using var product = await ProductUnderTest.StartAsync(receiverBroker: proxy.Through, workerBroker: proxy.Through);
        await using var connection = await product.OpenDatabaseAsync();

        // A sender retries a 503 with the same webhook-id, as BigCommerce and the POS do.
        var unavailable = 0;
        var sending = Parallel.ForAsync(0, workload.Deliveries.Count, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, cancellationToken) =>
        {
            var delivery = workload.Deliveries[i];
            for (var deadline = DateTime.UtcNow + Patience; ;)
            {
                using var response = await product.PosWebhooks.SendAsync(delivery.Body, delivery.WebhookId);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Interlocked.Increment(ref unavailable);
                Assert.True(DateTime.UtcNow < deadline, "the receiver kept answering 503");
                await Task.Delay(250, cancellationToken);
            }
        });
        await ProductUnderTest.EventuallyAsync(
            "500 of the 2,000 records applied before the broker is cut off", () => AppliedAsync(connection, "WO-BRK"), n => n >= 500, Patience, product.Logs);
        proxy.Cut();
        await Task.Delay(TimeSpan.FromSeconds(10));
        proxy.Start();
        await sending;

        var ledger = await SettleAsync(product, connection, workload, "WO-BRK");
        output.WriteLine($"broker cut off for 10 s under 2,000 callbacks: {unavailable} answers were 503 and retried; all accepted in the end; {ledger}");
        Assert.True(unavailable > 0, "no callback arrived while the broker was unreachable");
        Assert.True(ledger.IsExactlyOnce(workload), ledger.ToString());
    }

    [Fact]
    public async Task Every_delivery_three_times_in_shuffled_order_has_one_effect()
    {
        var workload = SyncWorkload.Create(workOrders: 600, versions: 1, orders: 200, callbacksPerOrder: 1, "WO-3X", seed: 11, copies: 3);
        await using var product = await ProductUnderTest.StartAsync(workers: 2, settings: new Dictionary<string, string>
        {
            ["BigCommerce__RequestsPerWindow"] = "1000",
            ["BigCommerce__RateLimitWindow"] = "00:00:05",
        });
        workload.Stock(product.BigCommerce);
        await using var connection = await product.OpenDatabaseAsync();

        var statuses = await workload.SendAsync(product);

        var ledger = await SettleAsync(product, connection, workload, "WO-3X");
        output.WriteLine($"{statuses.Count} deliveries (each three times, shuffled) for {workload.FinalVersions.Count} POS records and " +
            $"{workload.OrderIds.Count} orders, 2 workers; BigCommerce order fetches {workload.OrderIds.Sum(product.BigCommerce.OrderFetches)}; {ledger}");
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.True(ledger.IsExactlyOnce(workload), ledger.ToString());
    }

    [Fact]
    public async Task A_store_failing_30_percent_of_requests_and_rate_limiting_delays_but_loses_and_repeats_nothing()
    {
        var workload = SyncWorkload.Create(workOrders: 0, versions: 1, orders: 150, callbacksPerOrder: 2, "WO-FLAKY", seed: 13, copies: 1);
        await using var product = await ProductUnderTest.StartAsync(settings: new Dictionary<string, string>
        {
            // The worker believes in a larger quota than the store grants: it learns the truth
            // from the rate-limit headers and the 429s.
            ["BigCommerce__RequestsPerWindow"] = "1000",
            ["BigCommerce__RateLimitWindow"] = "00:00:03",
        });
        var store = product.BigCommerce;
        store.Quota = 40;
        store.Window = TimeSpan.FromSeconds(3);
        store.FailAtRandom(0.3);
        workload.Stock(store);
        await using var connection = await product.OpenDatabaseAsync();

        // Another app of the store spends its quota now and then, as happens in production.
        using var stop = new CancellationTokenSource();
        var neighbour = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(4), CancellationToken.None);
                store.ExhaustWindow(TimeSpan.FromSeconds(1));
            }
        });

        var statuses = await workload.SendAsync(product);
        var ledger = await SettleAsync(product, connection, workload, "WO-FLAKY");
        await stop.CancelAsync();
        await neighbour;
        output.WriteLine($"{statuses.Count} callbacks for {workload.OrderIds.Count} orders, store failing 30% at random and granting 40 requests per 3 s " +
            $"(all of it to another app every 4 s): {store.TotalRequests} requests served, {store.RandomFailuresSent} answered 500, " +
            $"{store.TooManyRequestsSent} answered 429; {ledger}");
        Assert.True(store.RandomFailuresSent > 0, "the store never failed: the scenario tested nothing");
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.True(store.TooManyRequestsSent > 0, "the store never rate-limited: the scenario tested nothing");
        Assert.True(ledger.IsExactlyOnce(workload), ledger.ToString());
    }

    static Task<long> AppliedAsync(NpgsqlConnection connection, string prefix) =>
        connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like @Prefix || '-%'", new { Prefix = prefix });

    /// <summary>
    /// Waits until the ledger balances and still balances on a read a statistics interval later:
    /// the broker's queue counts are sampled, so a balanced read may predate a redelivery (a
    /// message held by a connection the fault cut is requeued when the broker notices).
    /// </summary>
    static async Task<Ledger> SettleAsync(ProductUnderTest product, NpgsqlConnection connection, SyncWorkload workload, string prefix)
    {
        for (var deadline = DateTime.UtcNow + Patience; ;)
        {
            await ProductUnderTest.EventuallyAsync(
                "the ledger to balance: every accepted callback's effect exactly once, nothing parked, dead-lettered or queued",
                () => Ledger.ReadAsync(product, connection, prefix), l => l.IsExactlyOnce(workload),
                Max(deadline - DateTime.UtcNow, TimeSpan.FromSeconds(1)), product.Logs);
            await Task.Delay(TimeSpan.FromSeconds(6));
            var ledger = await Ledger.ReadAsync(product, connection, prefix);
            if (ledger.IsExactlyOnce(workload) || DateTime.UtcNow > deadline)
            {
                return ledger;
            }
        }
    }

    static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
