using System.Diagnostics;
using System.Globalization;
using System.Net;
using Dapper;
using PerazziSync.Testing;

namespace PerazziSync.Benchmarks;

/// <summary>
/// Bursts of callbacks for a set of orders, sent through the receiver within a few seconds, while
/// the fake BigCommerce enforces its request quota: how many fetches per order, how many 429s,
/// and how long until every order is in the database, next to the floor the quota sets.
/// </summary>
static class WorkerBenchmark
{
    const string OrderOutcome = "BigCommerce order ";

    public sealed record Result(
        int Orders, int Accepted, int Planned, TimeSpan SentIn, double FetchesPerOrder, int MaxFetches, int TooManyRequests,
        int Requests, int Quota, TimeSpan Window, TimeSpan AllIn, TimeSpan Floor, int RequestsNeeded, TimeSpan ConsumedIn);

    public static async Task RunAsync(Arguments arguments)
    {
        var r = await MeasureAsync(arguments);
        Console.WriteLine();
        Console.WriteLine($"Worker benchmark, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores");
        Console.WriteLine();
        Console.WriteLine("| measure | value |");
        Console.WriteLine("|---|---:|");
        Row("callbacks accepted / sent", $"{r.Accepted} / {r.Planned} in {r.SentIn.TotalSeconds:0.0} s");
        Row("distinct orders", $"{r.Orders}");
        Row("order fetches per distinct order (target ≤ 1.2)", $"{r.FetchesPerOrder:0.00} (max {r.MaxFetches})");
        Row("429s received (target 0)", $"{r.TooManyRequests}");
        Row("requests to BigCommerce", $"{r.Requests} (quota {r.Quota} per {r.Window.TotalSeconds:0} s)");
        Row("time until all orders are in the database", r.AllIn == TimeSpan.Zero ? "not reached" : $"{r.AllIn.TotalSeconds:0.0} s");
        Row("floor set by the quota (raw limit)", $"{r.Floor.TotalSeconds:0} s + request time ({r.RequestsNeeded} requests at minimum)");
        Row("time until every callback is consumed", $"{r.ConsumedIn.TotalSeconds:0.0} s");
    }

    public static async Task<Result> MeasureAsync(Arguments arguments)
    {
        var orders = arguments.Int("orders", 100);
        var callbacks = arguments.Int("callbacks", 1000);
        var spread = TimeSpan.FromSeconds(arguments.Int("spread", 10));
        var quota = arguments.Int("quota", 150);
        var window = TimeSpan.FromSeconds(arguments.Int("window", 30));

        Console.Error.WriteLine("Starting receiver and worker...");
        await using var product = await ProductUnderTest.StartAsync(settings: new Dictionary<string, string>
        {
            ["BigCommerce__RequestsPerWindow"] = quota.ToString(CultureInfo.InvariantCulture),
            ["BigCommerce__RateLimitWindow"] = window.ToString("c", CultureInfo.InvariantCulture),
            // The product's default, not the tests' shorter one.
            ["BigCommerce__CoalesceDelay"] = "00:00:01",
        });
        var store = product.BigCommerce;
        store.Quota = quota;
        store.Window = window;
        store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        var modified = DateTimeOffset.UtcNow.AddMinutes(-1);
        var orderIds = Enumerable.Range(0, orders).Select(i => 5000L + i).ToArray();
        foreach (var id in orderIds)
        {
            store.PutOrder(BigCommerceFixtures.Order(id, 11, modified), BigCommerceFixtures.Lines(id));
        }

        // Each order gets a burst, as BigCommerce sends them: created, updated and statusUpdated
        // for one change, some retried with the same webhook-id, within half a second; the bursts
        // start at random moments over the spread.
        var random = new Random(7);
        string[] scopes = ["webhook-order-created.json", "webhook-order-updated.json", "webhook-order-statusUpdated.json"];
        var perOrder = callbacks / orders;
        var plan = orderIds.SelectMany(id =>
        {
            var start = random.NextDouble() * (spread.TotalSeconds - 0.5);
            return Enumerable.Range(0, perOrder).Select(k => (
                At: TimeSpan.FromSeconds(start + random.NextDouble() * 0.5),
                Body: BigCommerceFixtures.Callback(scopes[k % scopes.Length], ProductUnderTest.StoreHash, id),
                WebhookId: $"bench-{id}-{k / 2}"));
        }).OrderBy(c => c.At).ToArray();

        var webhooks = product.BigCommerceWebhooks;
        var accepted = 0;
        var clock = Stopwatch.StartNew();
        var sends = new List<Task>();
        foreach (var callback in plan)
        {
            var wait = callback.At - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }
            sends.Add(Task.Run(async () =>
            {
                using var response = await webhooks.SendAsync(callback.Body, callback.WebhookId);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref accepted);
                }
            }));
        }
        await Task.WhenAll(sends);
        var sentIn = clock.Elapsed;
        Console.Error.WriteLine($"{accepted} callbacks accepted in {sentIn.TotalSeconds:0.0} s; waiting for the orders...");

        var allIn = TimeSpan.Zero;
        await using (var connection = await product.OpenDatabaseAsync())
        {
            while (clock.Elapsed < TimeSpan.FromMinutes(10))
            {
                var present = await connection.ExecuteScalarAsync<long>(
                    "select count(*) from commerce_orders where bigcommerce_order_id = any(@Ids)",
                    new { Ids = orderIds.Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray() });
                if (present == orders)
                {
                    allIn = clock.Elapsed;
                    break;
                }
                await Task.Delay(100);
            }
        }
        // Every callback must be consumed before fetches are counted: late ones may still fetch.
        while (CountOutcomes(product) < accepted && clock.Elapsed < TimeSpan.FromMinutes(10))
        {
            await Task.Delay(200);
        }
        var consumedIn = clock.Elapsed;

        var fetches = orderIds.Select(store.OrderFetches).ToArray();
        var requestsNeeded = orders * 2 + 1;
        var windowsNeeded = (requestsNeeded - 1) / quota;
        return new Result(orders, accepted, plan.Length, sentIn, fetches.Average(), fetches.Max(), store.TooManyRequestsSent,
            store.TotalRequests, quota, window, allIn, windowsNeeded * window, requestsNeeded, consumedIn);
    }

    static int CountOutcomes(ProductUnderTest product) =>
        product.Workers.Sum(w => w.Output.Split('\n').Count(line => line.Contains(OrderOutcome, StringComparison.Ordinal)));

    static void Row(string measure, string value) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {measure} | {value} |"));
}
