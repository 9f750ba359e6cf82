using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Dapper;
using PerazziSync.Contracts;
using PerazziSync.Testing;

namespace PerazziSync.Benchmarks;

/// <summary>
/// Order callbacks through receiver and worker while the fake BigCommerce holds its real quota:
/// bursts of callbacks for a set of orders, and a flash sale (many new orders, three callbacks
/// each, over a minute). Counted: every request the store answered, per order, beside the least
/// any sync could ask; 429 answers; and, for the flash sale, how long after its last callback
/// every order was in the database as it last changed.
/// </summary>
static class WorkerBenchmark
{
    static readonly Option Orders = new("orders", 100, 20, "distinct orders of the burst");
    static readonly Option Callbacks = new("callbacks", 1000, 200, "callbacks of the burst, spread evenly over its orders");
    static readonly Option Spread = new("spread", 10, 3, "seconds over which the bursts start");
    static readonly Option SaleOrders = new("sale-orders", 1000, 200, "orders of the flash sale, three callbacks each");
    static readonly Option SaleSeconds = new("sale-seconds", 60, 20, "seconds over which the flash sale's callbacks come");
    static readonly Option Buyers = new("buyers", 200, 40, "portal users who buy in the flash sale, none a BigCommerce customer of the portal yet");
    static readonly Option Quota = new("quota", 150, 150, "requests the fake store allows per window");
    static readonly Option Window = new("window", 30, 30, "seconds of the store's rate-limit window");

    public static readonly Benchmark Definition = new(
        "worker", "order callbacks (bursts, a flash sale) through receiver and worker against a rate-limited fake BigCommerce",
        [Orders, Callbacks, Spread, SaleOrders, SaleSeconds, Buyers, Quota, Window], RunAsync);

    /// <summary>The product's default; the tests run with a shorter one.</summary>
    const string CoalesceDelay = "00:00:01";

    /// <summary>Orders on one page of <c>GET /v2/orders</c>, customers on one request by id.</summary>
    const int OrdersPerListing = 250;
    const int CustomersPerRequest = 50;

    const double SaleDeadlineSeconds = 90;

    sealed record Round(double RequestsPerOrder, int TooManyRequests, TimeSpan AfterLastCallback, List<Check> Checks);

    static async Task<Section> RunAsync(Arguments arguments)
    {
        var rounds = arguments.Rounds;
        var orders = arguments.Int(Orders);
        var callbacks = arguments.Int(Callbacks);
        var spread = TimeSpan.FromSeconds(arguments.Int(Spread));
        var saleOrders = arguments.Int(SaleOrders);
        var saleSpan = TimeSpan.FromSeconds(arguments.Int(SaleSeconds));
        var buyers = arguments.Int(Buyers);
        var quota = arguments.Int(Quota);
        var window = TimeSpan.FromSeconds(arguments.Int(Window));
        if (callbacks < orders)
        {
            throw new UsageException("--callbacks must be at least --orders: every order gets a burst");
        }

        var bursts = new List<Round>();
        var sales = new List<Round>();
        for (var round = 1; round <= rounds; round++)
        {
            bursts.Add(await BurstAsync($"burst round {round}/{rounds}", orders, callbacks / orders, spread, quota, window));
            sales.Add(await FlashSaleAsync($"flash sale round {round}/{rounds}", saleOrders, saleSpan, buyers, quota, window));
        }

        var burstFloor = Floor(orders, 1);
        var saleFloor = Floor(saleOrders, buyers);
        var burst = $"BigCommerce burst: {callbacks / orders * orders:N0} callbacks for {orders:N0} orders in {spread.TotalSeconds:N0} s";
        var sale = $"BigCommerce flash sale: {saleOrders:N0} new orders × 3 callbacks in {saleSpan.TotalSeconds:N0} s";
        var burstChecks = bursts.SelectMany(r => r.Checks).ToArray();
        var saleChecks = sales.SelectMany(r => r.Checks).ToArray();
        return new Section(
            "BigCommerce order callbacks",
            $"Each round, on fresh stacks (receiver, one worker, a fake store allowing {quota} requests per {window.TotalSeconds:N0} s, the worker's default coalescing delay {CoalesceDelay}): "
            + $"the burst, {orders:N0} orders each changed once and announced by {callbacks / orders} callbacks within half a second (`created`, `updated`, `statusUpdated` in turn, each delivery sent twice with the same webhook-id as a sender retries), the bursts starting at random over {spread.TotalSeconds:N0} s; "
            + $"then the flash sale, {saleOrders:N0} orders created one after another over {saleSpan.TotalSeconds:N0} s by {buyers:N0} portal users new to the sync, each order changed twice more within 3 s of its creation, every change announced by its callback as it happens. "
            + "A request is every request the store answered: orders, listings, product pages, customers, and the worker's check of the hooks as it starts (two requests, which no floor below counts).",
            $"The references are not measured: they are the least any sync can ask, every order once in listings of {OrdersPerListing} and every new customer once in requests of {CustomersPerRequest} "
            + $"({burstFloor.Requests} requests for the burst, {saleFloor.Requests} for the flash sale); a sync fetching each order alone needs one request per order at the least, "
            + $"which at {quota} requests per {window.TotalSeconds:N0} s is {saleOrders * window.TotalSeconds / quota:N0} s of quota for the flash sale.",
            [
                Row.Absolute($"{burst}: requests per order", new Figure(bursts.Select(r => r.RequestsPerOrder), Unit.Average),
                    $"floor {burstFloor.PerOrder:N2}", Target.EveryRoundAtMost(1.05), burstChecks),
                Row.Absolute($"{burst}: 429 answers from the store", new Figure(bursts.Select(r => (double)r.TooManyRequests), Unit.Count), "0",
                    Target.EveryRoundNone(), burstChecks),
                Row.Absolute($"{sale}: requests per order", new Figure(sales.Select(r => r.RequestsPerOrder), Unit.Average),
                    $"floor {saleFloor.PerOrder:N3}", Target.EveryRoundAtMost(0.1), saleChecks),
                Row.Absolute($"{sale}: every order in the database as last changed, after the last callback", new Figure(sales.Select(r => r.AfterLastCallback.TotalSeconds), Unit.Seconds),
                    Target.EveryRoundBelow(SaleDeadlineSeconds), saleChecks),
                Row.Absolute($"{sale}: 429 answers from the store", new Figure(sales.Select(r => (double)r.TooManyRequests), Unit.Count), "0",
                    Target.EveryRoundNone(), saleChecks),
            ],
            [
                "the whole sync: receiver and worker as they run against a store, with the replay memory, the coalescing, the rounds of fetches, the entity locks, the shared rate budget and the retries",
            ],
            [
                "nothing: it is arithmetic, not a program",
            ]);
    }

    static (int Requests, double PerOrder) Floor(int orders, int newCustomers)
    {
        var requests = (orders + OrdersPerListing - 1) / OrdersPerListing + (newCustomers + CustomersPerRequest - 1) / CustomersPerRequest;
        return (requests, (double)requests / orders);
    }

    static Task<ProductUnderTest> StartAsync(int quota, TimeSpan window) =>
        ProductUnderTest.StartAsync(settings: new Dictionary<string, string>
        {
            ["BigCommerce__RequestsPerWindow"] = quota.ToString(CultureInfo.InvariantCulture),
            ["BigCommerce__RateLimitWindow"] = window.ToString("c", CultureInfo.InvariantCulture),
            ["BigCommerce__CoalesceDelay"] = CoalesceDelay,
            ["Logging__LogLevel__Default"] = "Warning",
        });

    static async Task<Round> BurstAsync(string round, int orders, int perOrder, TimeSpan spread, int quota, TimeSpan window)
    {
        Log.Step($"worker: {round}, starting receiver and worker");
        await using var product = await StartAsync(quota, window);
        var store = product.BigCommerce;
        store.Quota = quota;
        store.Window = window;
        store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        var orderIds = Enumerable.Range(0, orders).Select(i => 5000L + i).ToArray();

        // Each order changes once, and BigCommerce announces the change with a burst: created,
        // updated and statusUpdated, each delivery sent twice with the same webhook-id (a sender's
        // retry), within half a second; the bursts start at random moments over the spread.
        var random = new Random(7);
        string[] scopes = ["webhook-order-created.json", "webhook-order-updated.json", "webhook-order-statusUpdated.json"];
        var plan = orderIds.SelectMany(id =>
        {
            var start = random.NextDouble() * Math.Max(0, spread.TotalSeconds - 0.5);
            return Enumerable.Range(0, perOrder).Select(k => new Delivery(
                TimeSpan.FromSeconds(start + (k == 0 ? 0 : random.NextDouble() * 0.5)),
                id, k == 0 ? "Awaiting Fulfillment" : null, 11,
                BigCommerceFixtures.Callback(scopes[k / 2 % scopes.Length], ProductUnderTest.StoreHash, id),
                $"bench-{id}-{k / 2}"));
        }).OrderBy(c => c.At).ToArray();

        var (answers, _) = await DeliverAsync(product, round, plan);
        await WaitForOrdersAsync(product, round, orderIds, "Awaiting Fulfillment", window);
        var checks = await CheckAsync(product, round, plan.Length, answers);
        return new Round((double)store.TotalRequests / orders, store.TooManyRequestsSent, TimeSpan.Zero, checks);
    }

    static async Task<Round> FlashSaleAsync(string round, int orders, TimeSpan span, int buyers, int quota, TimeSpan window)
    {
        Log.Step($"worker: {round}, starting receiver and worker, {buyers:N0} portal users");
        await using var product = await StartAsync(quota, window);
        var store = product.BigCommerce;
        store.Quota = quota;
        store.Window = window;
        await using (var superuser = await product.Database.OpenAsSuperuserAsync())
        {
            await superuser.ExecuteAsync("""
                insert into auth.users (id, email, email_confirmed_at)
                select gen_random_uuid(), 'buyer' || n || '@example.com', now() from generate_series(1, @Buyers) n;
                insert into profiles (id, email, display_name, role)
                select id, email, email, 'owner' from auth.users where email like 'buyer%@example.com';
                """, new { Buyers = buyers });
        }
        for (var n = 1; n <= buyers; n++)
        {
            store.PutCustomer(BigCommerceFixtures.Customer(20_000 + n, $"buyer{n}@example.com"));
        }

        // Orders come one after another, each from a buyer at random; each changes twice more
        // within 3 s (payment, then fulfilment), and every change is announced as it happens.
        var random = new Random(11);
        var orderIds = Enumerable.Range(0, orders).Select(i => 30_000L + i).ToArray();
        var plan = orderIds.SelectMany((id, i) =>
        {
            var created = span.TotalSeconds * 0.95 * i / orders;
            var customer = 20_001 + random.Next(buyers);
            return new[]
            {
                new Delivery(TimeSpan.FromSeconds(created), id, "Pending", customer,
                    BigCommerceFixtures.Callback("webhook-order-created.json", ProductUnderTest.StoreHash, id), $"sale-{id}-1"),
                new Delivery(TimeSpan.FromSeconds(created + 0.2 + random.NextDouble() * 1.3), id, "Awaiting Payment", customer,
                    BigCommerceFixtures.Callback("webhook-order-updated.json", ProductUnderTest.StoreHash, id), $"sale-{id}-2"),
                new Delivery(TimeSpan.FromSeconds(created + 1.6 + random.NextDouble() * 1.4), id, "Awaiting Fulfillment", customer,
                    BigCommerceFixtures.Callback("webhook-order-statusUpdated.json", ProductUnderTest.StoreHash, id), $"sale-{id}-3"),
            };
        }).OrderBy(c => c.At).ToArray();

        var (answers, lastSent) = await DeliverAsync(product, round, plan);
        await WaitForOrdersAsync(product, round, orderIds, "Awaiting Fulfillment", window);
        var afterLast = Stopwatch.GetElapsedTime(lastSent);
        var checks = await CheckAsync(product, round, plan.Length, answers);
        return new Round((double)store.TotalRequests / orders, store.TooManyRequestsSent, afterLast, checks);
    }

    /// <summary>
    /// One callback of the plan: when it is sent, and the change it announces (the order's new
    /// status, stored with the time of the change just before the callback goes), if any.
    /// </summary>
    sealed record Delivery(TimeSpan At, long OrderId, string? Status, long CustomerId, string Body, string WebhookId);

    /// <summary>Sends the plan on time, each change made in the store just before its callback; returns the answers and when the last callback was answered.</summary>
    static async Task<(Dictionary<string, int> Answers, long LastSent)> DeliverAsync(ProductUnderTest product, string round, Delivery[] plan)
    {
        Log.Step($"worker: {round}, sending {plan.Length:N0} callbacks over {plan[^1].At.TotalSeconds:N0} s");
        var store = product.BigCommerce;
        var webhooks = product.BigCommerceWebhooks;
        var answers = new Dictionary<string, int>(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        var sends = new List<Task>();
        foreach (var delivery in plan)
        {
            var wait = delivery.At - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }
            if (delivery.Status is { } status)
            {
                store.PutOrder(BigCommerceFixtures.Order(delivery.OrderId, delivery.CustomerId, DateTimeOffset.UtcNow, status), BigCommerceFixtures.Lines(delivery.OrderId));
            }
            sends.Add(Task.Run(async () =>
            {
                using var response = await webhooks.SendAsync(delivery.Body, delivery.WebhookId);
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
        return (answers, Stopwatch.GetTimestamp());
    }

    static async Task WaitForOrdersAsync(ProductUnderTest product, string round, long[] orderIds, string status, TimeSpan window)
    {
        Log.Step($"worker: {round}, waiting for {orderIds.Length:N0} orders as they last changed");
        // The quota holds the worker back for up to a window at a time: only a longer silence is a stall.
        var stalled = window + TimeSpan.FromSeconds(30);
        var ids = orderIds.Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        await using var connection = await product.OpenDatabaseAsync();
        await Wait.ForCountAsync($"{orderIds.Length:N0} orders in commerce_orders with status {status}", () => connection.ExecuteScalarAsync<long>(
            "select count(*) from commerce_orders where bigcommerce_order_id = any(@Ids) and status = @Status", new { Ids = ids, Status = status }),
            orderIds.Length, stalled);
    }

    /// <summary>Every callback answered 200 and consumed, none dead-lettered, no request refused: requests of a sync that lost work count for nothing.</summary>
    static async Task<List<Check>> CheckAsync(ProductUnderTest product, string round, int sent, Dictionary<string, int> answers)
    {
        // A sender's retry of a confirmed delivery is answered as a duplicate and publishes nothing.
        var published = answers.GetValueOrDefault("accepted");
        var answered = published + answers.GetValueOrDefault("duplicate");
        // Every published callback must be consumed before requests are counted: a late one may still fetch.
        var worker = product.WorkerManagementUrls[0];
        await Wait.ForCountAsync($"the worker to consume {published:N0} order callbacks", async () => (long)await Metrics.ReadAsync(
            worker, "perazzisync_messages_consumed_total", $"type=\"{nameof(BigCommerceOrderChanged)}\""), published, TimeSpan.FromSeconds(60));
        var deadLettered = await Metrics.ReadAsync(
            worker, "perazzisync_messages_consumed_total", $"type=\"{nameof(BigCommerceOrderChanged)}\"", "outcome=\"dead_lettered\"");
        var store = product.BigCommerce;
        return
        [
            new(answered == sent, $"{round}: {sent - answered:N0} of {sent:N0} callbacks not answered 200 ({string.Join(", ", answers.Select(a => $"{a.Key}: {a.Value}"))})"),
            new(deadLettered == 0, $"{round}: {deadLettered:N0} callbacks dead-lettered"),
            new(store.BadRequests == 0, $"{round}: {store.BadRequests:N0} requests the store refused as malformed"),
        ];
    }
}
