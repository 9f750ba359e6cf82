using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Dapper;
using PerazziSync.Contracts;
using PerazziSync.Testing;

namespace PerazziSync.Benchmarks;

/// <summary>
/// Bursts of callbacks for a set of orders, sent through the receiver within a few seconds, while
/// the fake BigCommerce enforces its request quota: how many fetches per order and how many 429s,
/// once every order is in the database and every published callback consumed.
/// </summary>
static class WorkerBenchmark
{
    static readonly Option Orders = new("orders", 100, 20, "distinct orders");
    static readonly Option Callbacks = new("callbacks", 1000, 200, "callbacks, spread evenly over the orders");
    static readonly Option Spread = new("spread", 10, 3, "seconds over which the bursts start");
    static readonly Option Quota = new("quota", 150, 150, "requests the fake store allows per window");
    static readonly Option Window = new("window", 30, 30, "seconds of the store's rate-limit window");

    public static readonly Benchmark Definition = new(
        "worker", "callback bursts through receiver and worker against a rate-limited fake BigCommerce",
        [Orders, Callbacks, Spread, Quota, Window], RunAsync);

    /// <summary>The product's default; the tests run with a shorter one.</summary>
    const string CoalesceDelay = "00:00:01";

    sealed record Round(double FetchesPerOrder, int MaxFetches, int TooManyRequests, TimeSpan AllIn, List<Check> Checks);

    static async Task<Section> RunAsync(Arguments arguments)
    {
        var rounds = arguments.Rounds;
        var orders = arguments.Int(Orders);
        var callbacks = arguments.Int(Callbacks);
        var spread = TimeSpan.FromSeconds(arguments.Int(Spread));
        var quota = arguments.Int(Quota);
        var window = TimeSpan.FromSeconds(arguments.Int(Window));
        if (callbacks < orders)
        {
            throw new UsageException("--callbacks must be at least --orders: every order gets a burst");
        }

        var results = new List<Round>();
        for (var round = 1; round <= rounds; round++)
        {
            results.Add(await MeasureAsync($"round {round}/{rounds}", orders, callbacks / orders, spread, quota, window));
        }

        // An order and its lines for each order, the customer once: the least the sync can ask.
        var requestsNeeded = orders * 2 + 1;
        var floor = (requestsNeeded - 1) / quota * window;
        var checks = results.SelectMany(r => r.Checks).ToList();
        var allIn = new Figure(results.Select(r => r.AllIn.TotalSeconds), Unit.Seconds);
        var measure = $"BigCommerce: {callbacks / orders * orders:N0} callbacks for {orders:N0} orders in {spread.TotalSeconds:N0} s";
        return new Section(
            "BigCommerce order callbacks",
            $"Each round, on a fresh stack (receiver, one worker, a fake store allowing {quota} requests per {window.TotalSeconds:N0} s): for each of {orders:N0} orders a burst of {callbacks / orders} callbacks within half a second, `created`, `updated` and `statusUpdated` in turn, each delivery sent twice with the same webhook-id as a sender retries, the bursts starting at random over {spread.TotalSeconds:N0} s; then the wait for every order in the database and every published callback consumed. The worker coalesces with the product's default delay ({CoalesceDelay}).",
            $"The reference is not measured: it is the least any sync can do, one fetch of each order (the order and its lines, two requests) and of the customer once, {requestsNeeded:N0} requests; at {quota} requests per {window.TotalSeconds:N0} s, {(floor == TimeSpan.Zero ? "they fit in one window" : $"the last of them cannot start before {floor.TotalSeconds:N0} s")}.",
            [
                Row.Absolute($"{measure}: order fetches per order", new Figure(results.Select(r => r.FetchesPerOrder), Unit.Average), "1, each order fetched once",
                    Target.EveryRoundAtMost(1.2), [.. checks])
                    with { Detail = $"at most {results.Max(r => r.MaxFetches)} for one order; every order in the database after {allIn} (quota floor {floor.TotalSeconds:N0} s)" },
                Row.Absolute($"{measure}: 429 answers from the store", new Figure(results.Select(r => (double)r.TooManyRequests), Unit.Count), "0",
                    Target.EveryRoundNone(), [.. checks]),
            ],
            [
                "the whole sync: receiver and worker as they run against a store, with the replay memory, the coalescing, the entity locks, the shared rate budget and the retries",
            ],
            [
                "nothing: it is arithmetic, not a program",
            ]);
    }

    static async Task<Round> MeasureAsync(string round, int orders, int perOrder, TimeSpan spread, int quota, TimeSpan window)
    {
        Log.Step($"worker: {round}, starting receiver and worker");
        await using var product = await ProductUnderTest.StartAsync(settings: new Dictionary<string, string>
        {
            ["BigCommerce__RequestsPerWindow"] = quota.ToString(CultureInfo.InvariantCulture),
            ["BigCommerce__RateLimitWindow"] = window.ToString("c", CultureInfo.InvariantCulture),
            ["BigCommerce__CoalesceDelay"] = CoalesceDelay,
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
        // for one change, each delivery sent twice with the same webhook-id (a sender's retry),
        // within half a second; the bursts start at random moments over the spread.
        var random = new Random(7);
        string[] scopes = ["webhook-order-created.json", "webhook-order-updated.json", "webhook-order-statusUpdated.json"];
        var plan = orderIds.SelectMany(id =>
        {
            var start = random.NextDouble() * Math.Max(0, spread.TotalSeconds - 0.5);
            return Enumerable.Range(0, perOrder).Select(k => (
                At: TimeSpan.FromSeconds(start + random.NextDouble() * 0.5),
                Body: BigCommerceFixtures.Callback(scopes[k / 2 % scopes.Length], ProductUnderTest.StoreHash, id),
                WebhookId: $"bench-{id}-{k / 2}"));
        }).OrderBy(c => c.At).ToArray();

        Log.Step($"worker: {round}, sending {plan.Length:N0} callbacks over {spread.TotalSeconds:N0} s");
        var webhooks = product.BigCommerceWebhooks;
        var answers = new Dictionary<string, int>(StringComparer.Ordinal);
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
                var answer = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                    answer = body.RootElement.GetProperty("status").GetString() ?? answer;
                }
                lock (answers)
                {
                    answers[answer] = answers.GetValueOrDefault(answer) + 1;
                }
            }));
        }
        await Task.WhenAll(sends);
        // A sender's retry of a confirmed delivery is answered as a duplicate and publishes nothing.
        var published = answers.GetValueOrDefault("accepted");
        var answered = published + answers.GetValueOrDefault("duplicate");
        Log.Step($"worker: {round}, {published:N0} callbacks published, {answered - published:N0} answered as duplicates; waiting for the orders");

        // The quota holds the worker back for up to a window at a time: only a longer silence is a stall.
        var stalled = window + TimeSpan.FromSeconds(30);
        var ids = orderIds.Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        await using (var connection = await product.OpenDatabaseAsync())
        {
            await Wait.ForCountAsync($"{orders:N0} orders in commerce_orders", () => connection.ExecuteScalarAsync<long>(
                "select count(*) from commerce_orders where bigcommerce_order_id = any(@Ids)", new { Ids = ids }), orders, stalled);
        }
        var allIn = clock.Elapsed;
        // Every published callback must be consumed before fetches are counted: a late one may still fetch.
        var worker = product.WorkerManagementUrls[0];
        await Wait.ForCountAsync($"the worker to consume {published:N0} order callbacks", async () => (long)await Metrics.ReadAsync(
            worker, "perazzisync_messages_consumed_total", $"type=\"{nameof(BigCommerceOrderChanged)}\""), published, stalled);
        var deadLettered = await Metrics.ReadAsync(
            worker, "perazzisync_messages_consumed_total", $"type=\"{nameof(BigCommerceOrderChanged)}\"", "outcome=\"dead_lettered\"");

        var fetches = orderIds.Select(store.OrderFetches).ToArray();
        return new Round(fetches.Average(), fetches.Max(), store.TooManyRequestsSent, allIn,
        [
            new(answered == plan.Length, $"{round}: {plan.Length - answered:N0} of {plan.Length:N0} callbacks not answered 200 ({string.Join(", ", answers.Select(a => $"{a.Key}: {a.Value}"))})"),
            new(deadLettered == 0, $"{round}: {deadLettered:N0} callbacks dead-lettered"),
            new(store.BadRequests == 0, $"{round}: {store.BadRequests:N0} requests the store refused as malformed"),
        ]);
    }
}
