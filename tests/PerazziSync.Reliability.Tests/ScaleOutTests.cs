using System.Net;
using Dapper;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;
using Xunit.Abstractions;

namespace PerazziSync.Reliability.Tests;

/// <summary>
/// Scale-out (docs/messages.md): two receivers and three workers as separate processes on one
/// broker and database end with exactly the rows one receiver and one worker end with, and those
/// are the rows the workload must leave: every record at its newest version, every order as the
/// store holds it.
/// </summary>
public sealed class ScaleOutTests(ITestOutputHelper output)
{
    const string Prefix = "WO-SC";
    const int Quota = 150;
    static readonly TimeSpan Window = TimeSpan.FromSeconds(5);

    static readonly Dictionary<string, string> Settings = new()
    {
        ["BigCommerce__RequestsPerWindow"] = Quota.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["BigCommerce__RateLimitWindow"] = "00:00:05",
        ["BigCommerce__ReconcileCron"] = "0/3 * * * * ?",
        ["BigCommerce__ReconcileOverlap"] = "00:00:01",
    };

    [Fact]
    public async Task Two_receivers_and_three_workers_leave_the_rows_of_one_each_within_the_budget_with_each_job_firing_run_once()
    {
        // Both runs are held to the rows the workload must leave, not only to each other: a bug
        // losing the same orders in both would otherwise pass.
        var workload = SyncWorkload.Create(workOrders: 250, versions: 10, orders: 250, callbacksPerOrder: 10, Prefix);
        Assert.True(workload.Deliveries.Count >= 5_000, $"{workload.Deliveries.Count} deliveries");

        var single = await RunAsync(workload, receivers: 1, workers: 1);
        var scaled = await RunAsync(workload, receivers: 2, workers: 3);

        Assert.Equal(workload.ExpectedRows(), single.Rows);
        Assert.Equal(single.Rows, scaled.Rows);
        Assert.Equal(0, scaled.TooManyRequests);
        Assert.Equal(0, single.TooManyRequests);
        Assert.True(scaled.ListingRuns <= scaled.ClaimedFirings && scaled.ListingRuns >= scaled.ClaimedFirings - 1,
            $"{scaled.ListingRuns} reconciliation runs for {scaled.ClaimedFirings} firings");
        Assert.True(scaled.ClaimedFirings >= 3, $"only {scaled.ClaimedFirings} firings");
        Assert.True(scaled.FiringClaimants > 1, "one worker claimed every firing: the test shows nothing about the others");
    }

    sealed record Outcome(List<string> Rows, int TooManyRequests, int ListingRuns, long ClaimedFirings, long FiringClaimants);

    async Task<Outcome> RunAsync(SyncWorkload workload, int receivers, int workers)
    {
        await using var product = await ProductUnderTest.StartAsync(workers, receivers, Settings);
        product.BigCommerce.Quota = Quota;
        product.BigCommerce.Window = Window;
        workload.Stock(product.BigCommerce);
        var started = DateTime.UtcNow;

        var statuses = await workload.SendAsync(product);
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        var sent = DateTime.UtcNow;

        await using var connection = await product.OpenDatabaseAsync();
        var expected = workload.ExpectedRows();
        List<string> last = [];
        var rows = await ProductUnderTest.EventuallyAsync(
            $"the {expected.Count} rows of the workload (every record at its newest version, every order and line as stocked) " +
            $"through {receivers} receiver(s) and {workers} worker(s)",
            async () => last = await SyncWorkload.RowsAsync(connection, Prefix),
            r => r.SequenceEqual(expected),
            TimeSpan.FromMinutes(3),
            () => $"expected but not there: {string.Join("; ", expected.Except(last).Take(5))}\nthere but not expected: {string.Join("; ", last.Except(expected).Take(5))}");
        var done = DateTime.UtcNow;
        foreach (var queue in Queues.Inputs)
        {
            Assert.Equal(0u, await product.Broker.DeadLetteredAsync(queue));
        }

        // Stop the workers before counting, so no firing is half-way.
        foreach (var worker in product.Workers)
        {
            await worker.DisposeAsync();
        }
        var firings = await connection.QuerySingleAsync<(long Claimed, long Claimants)>(
            "select count(*), count(distinct claimed_by) from perazzi_sync.job_firings where job_name = 'bigcommerce-reconcile'");
        var outcome = new Outcome(rows, product.BigCommerce.TooManyRequestsSent, product.BigCommerce.OrderListingRuns, firings.Claimed, firings.Claimants);
        output.WriteLine(
            $"{receivers} receiver(s), {workers} worker(s): {workload.Deliveries.Count} deliveries sent in {(sent - started).TotalSeconds:0.0} s, " +
            $"all applied after {(done - started).TotalSeconds:0.0} s; {rows.Count} rows; BigCommerce: {product.BigCommerce.TotalRequests} requests, " +
            $"{outcome.TooManyRequests} answered 429; reconciliation: {outcome.ClaimedFirings} firings claimed by {outcome.FiringClaimants} worker(s), {outcome.ListingRuns} runs");
        return outcome;
    }
}
