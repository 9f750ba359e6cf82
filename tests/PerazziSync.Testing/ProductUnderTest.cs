using System.Net;
using Npgsql;

namespace PerazziSync.Testing;

/// <summary>
/// The product as it runs: a receiver and worker processes from their build output, against a
/// database and a broker virtual host of their own and a fake BigCommerce store.
/// </summary>
public sealed class ProductUnderTest : IAsyncDisposable
{
    public const string StoreHash = "teststore";

    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    readonly List<HostProcess> _receivers = [];
    readonly List<string> _receiverUrls = [];
    readonly List<string> _receiverManagementUrls = [];
    readonly List<HostProcess> _workers = [];
    readonly List<string> _workerUrls = [];
    readonly List<string> _workerManagementUrls = [];
    readonly IReadOnlyDictionary<string, string> _workerSettings;
    readonly bool _managementPorts;

    ProductUnderTest(
        TestDatabase database, TestVirtualHost broker, FakeBigCommerce bigCommerce, IReadOnlyDictionary<string, string> workerSettings, bool managementPorts)
    {
        Database = database;
        Broker = broker;
        BigCommerce = bigCommerce;
        _workerSettings = workerSettings;
        _managementPorts = managementPorts;
    }

    public TestDatabase Database { get; }

    public TestVirtualHost Broker { get; }

    public FakeBigCommerce BigCommerce { get; }

    public HostProcess? Receiver => _receivers.FirstOrDefault();

    public string ReceiverUrl => _receiverUrls.FirstOrDefault() ?? "";

    /// <summary>Where each receiver listens, when the stack has several.</summary>
    public IReadOnlyList<string> ReceiverUrls => _receiverUrls;

    /// <summary>Where the first receiver serves <c>/metrics</c> and <c>/health/*</c>: its own address unless the stack has management ports.</summary>
    public string ReceiverManagementUrl => _receiverManagementUrls.FirstOrDefault() ?? "";

    public IReadOnlyList<HostProcess> Workers => _workers;

    /// <summary>Where each worker listens, in the order of <see cref="Workers"/>.</summary>
    public IReadOnlyList<string> WorkerUrls => _workerUrls;

    /// <summary>Where each worker serves <c>/metrics</c> and <c>/health/*</c>, in the order of <see cref="Workers"/>.</summary>
    public IReadOnlyList<string> WorkerManagementUrls => _workerManagementUrls;

    /// <summary>Signs with the BigCommerce secret and posts to the receiver's BigCommerce route.</summary>
    public WebhookSender BigCommerceWebhooks => BigCommerceWebhooksAt(0);

    /// <summary>Signs with the POS secret and posts to the receiver's POS route.</summary>
    public WebhookSender PosWebhooks => PosWebhooksAt(0);

    /// <summary>The BigCommerce route of receiver <paramref name="receiver"/>.</summary>
    public WebhookSender BigCommerceWebhooksAt(int receiver) =>
        new(Http, _receiverUrls[receiver] + "/webhooks/bigcommerce", WebhookSender.Base64Secret(WebhookSender.BigCommerceClientSecret));

    /// <summary>The POS route of receiver <paramref name="receiver"/>.</summary>
    public WebhookSender PosWebhooksAt(int receiver) => new(Http, _receiverUrls[receiver] + "/webhooks/pos", WebhookSender.PosSecret);

    /// <summary>
    /// Starts the stack. <paramref name="workers"/> worker processes; <paramref name="settings"/>
    /// adds to or overrides the hosts' settings; <paramref name="receiverBroker"/> replaces the
    /// receivers' broker address, <paramref name="workerBroker"/> the workers' and
    /// <paramref name="workerDatabase"/> the workers' database connection string (a proxy, to cut
    /// them off). With <paramref name="managementPorts"/>, each host serves its health and metrics
    /// on a second address of its own (<c>Management__Urls</c>).
    /// </summary>
    public static async Task<ProductUnderTest> StartAsync(
        int workers = 1,
        int receivers = 1,
        IReadOnlyDictionary<string, string>? settings = null,
        Func<string, string>? receiverBroker = null,
        Func<string, string>? workerDatabase = null,
        Func<string, string>? workerBroker = null,
        bool managementPorts = false)
    {
        var database = await TestDatabase.CreatePortalAsync();
        var broker = await TestVirtualHost.CreateAsync();
        var bigCommerce = await FakeBigCommerce.StartAsync(StoreHash);

        var workerSettings = new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = workerDatabase?.Invoke(database.ConnectionString) ?? database.ConnectionString,
            ["ConnectionStrings__RabbitMq"] = workerBroker?.Invoke(broker.AmqpUri) ?? broker.AmqpUri,
            ["BigCommerce__ApiBaseUrl"] = bigCommerce.BaseUrl,
            ["BigCommerce__StoreHash"] = StoreHash,
            ["BigCommerce__AccessToken"] = FakeBigCommerce.AccessToken,
            ["BigCommerce__CoalesceDelay"] = "00:00:00.500",
            // Never, unless a test schedules them.
            ["BigCommerce__ReconcileCron"] = "0 0 0 1 1 ? 2099",
            ["BigCommerce__ParkedRetryCron"] = "0 0 0 1 1 ? 2099",
            ["BigCommerce__HooksCheckCron"] = "0 0 0 1 1 ? 2099",
            ["Pos__RematchCron"] = "0/2 * * * * ?",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            workerSettings[key] = value;
        }
        var stack = new ProductUnderTest(database, broker, bigCommerce, workerSettings, managementPorts);
        try
        {
            var receiverSettings = new Dictionary<string, string>
            {
                ["ConnectionStrings__RabbitMq"] = receiverBroker?.Invoke(broker.AmqpUri) ?? broker.AmqpUri,
                ["BigCommerce__StoreHash"] = StoreHash,
                ["BigCommerce__WebhookSecret"] = WebhookSender.Base64Secret(WebhookSender.BigCommerceClientSecret),
                ["Pos__WebhookSecret"] = WebhookSender.PosSecret,
                // A test that cuts the receiver off its broker waits this long for each 503; every
                // other test must not see one because a loaded machine was slow to confirm.
                ["Receiver__PublishTimeout"] = receiverBroker is null ? "00:00:10" : "00:00:02",
            };
            foreach (var (key, value) in settings ?? new Dictionary<string, string>())
            {
                receiverSettings[key] = value;
            }
            var starting = new List<Task>();
            for (var i = 0; i < receivers; i++)
            {
                var url = HostProcess.LoopbackUrl();
                var (environment, managementUrl) = stack.Addresses(receiverSettings, url);
                var receiver = HostProcess.Start("PerazziSync.Receiver", environment);
                stack._receivers.Add(receiver);
                stack._receiverUrls.Add(url);
                stack._receiverManagementUrls.Add(managementUrl);
                starting.Add(WaitUntilReadyAsync(receiver, managementUrl));
            }
            for (var i = 0; i < workers; i++)
            {
                starting.Add(stack.StartWorkerAsync());
            }
            await Task.WhenAll(starting);
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts one more worker and waits until it is ready.</summary>
    public async Task<HostProcess> StartWorkerAsync()
    {
        var url = HostProcess.LoopbackUrl();
        var (environment, managementUrl) = Addresses(_workerSettings, url);
        var worker = HostProcess.Start("PerazziSync.Worker", environment);
        lock (_workers)
        {
            _workers.Add(worker);
            _workerUrls.Add(url);
            _workerManagementUrls.Add(managementUrl);
        }
        // Ready, and past the check of the subscriptions it makes as it starts (two requests to the
        // store: the hooks and their admin view), so that a test counting the store's requests knows
        // they came before it began, as in a product that has been running for a while. A check that
        // failed is tried again after BigCommerce:HooksCheckRetryAtStart.
        await WaitUntilReadyAsync(worker, managementUrl,
            health => !health.Contains("subscriptions not checked yet", StringComparison.Ordinal),
            "did not become ready or did not check the subscriptions as it started");
        return worker;
    }

    /// <summary>A host's settings with its address, and where it serves health and metrics.</summary>
    (Dictionary<string, string> Environment, string ManagementUrl) Addresses(IReadOnlyDictionary<string, string> settings, string url)
    {
        var environment = new Dictionary<string, string>(settings) { ["ASPNETCORE_URLS"] = url };
        if (!_managementPorts)
        {
            return (environment, url);
        }
        var managementUrl = HostProcess.LoopbackUrl();
        environment["Management__Urls"] = managementUrl;
        return (environment, managementUrl);
    }

    public async Task<NpgsqlConnection> OpenDatabaseAsync() => await Database.OpenAsync();

    /// <summary>Everything the hosts printed, for failure messages.</summary>
    public string Logs() =>
        string.Join("\n", _receivers.Concat(_workers).Select(h => h.Output));

    /// <summary>
    /// Polls <paramref name="read"/> until <paramref name="done"/> holds and returns that value.
    /// When <paramref name="timeout"/> (default 30 s) passes first, it throws a
    /// <see cref="TimeoutException"/> that names <paramref name="waitingFor"/>, the last value read
    /// and <paramref name="diagnostics"/> (e.g. the hosts' output): a condition that never became
    /// true is a failure, never a value to assert on.
    /// </summary>
    public static async Task<T> EventuallyAsync<T>(
        string waitingFor, Func<Task<T>> read, Func<T, bool> done, TimeSpan? timeout = null, Func<string>? diagnostics = null)
    {
        var patience = timeout ?? TimeSpan.FromSeconds(30);
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }
            if (DateTime.UtcNow > deadline)
            {
                var context = diagnostics is null ? "" : "\n" + Tail(diagnostics(), 8_000);
                throw new TimeoutException($"Waited {patience.TotalSeconds:0.#} s for {waitingFor}; the last value read was {Describe(value)}{context}");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>A value for a failure message: collections by their first items, long text by its end.</summary>
    static string Describe(object? value) => value switch
    {
        null => "null",
        string text => "\"" + Tail(text, 2_000) + "\"",
        System.Collections.IEnumerable items => Items(items.Cast<object?>().ToList()),
        _ => value.ToString() ?? "",
    };

    static string Items(List<object?> items) =>
        "[" + string.Join(", ", items.Take(20).Select(Describe)) + (items.Count > 20 ? ", …" : "") + $"] ({items.Count} in all)";

    static string Tail(string text, int length) => text.Length <= length ? text : "…" + text[^length..];

    /// <summary>Waits for <c>/health/ready</c> at <paramref name="url"/>, the host's management address.</summary>
    static Task WaitUntilReadyAsync(HostProcess host, string url) =>
        WaitUntilReadyAsync(host, url, _ => true, "did not become ready");

    /// <summary>
    /// Waits until <c>/health/ready</c> at <paramref name="url"/> answers 200 with a report
    /// <paramref name="done"/> accepts; else fails saying the host <paramref name="failure"/>.
    /// </summary>
    static async Task WaitUntilReadyAsync(HostProcess host, string url, Func<string, bool> done, string failure)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline && !host.HasExited)
        {
            try
            {
                using var response = await Http.GetAsync(url + "/health/ready");
                if (response.StatusCode == HttpStatusCode.OK && done(await response.Content.ReadAsStringAsync()))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(200);
        }
        throw new InvalidOperationException($"The host at {url} {failure}:\n{host.Output}");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _receivers.Concat(_workers))
        {
            await host.DisposeAsync();
        }
        await BigCommerce.DisposeAsync();
        await Broker.DisposeAsync();
        await Database.DisposeAsync();
    }
}
