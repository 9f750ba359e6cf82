using System.Diagnostics;
using System.Net;
using Dapper;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using PerazziSync.Contracts;
using PerazziSync.Receiver.Webhooks;
using PerazziSync.Testing;
using PerazziSync.Worker.Sync;
using Xunit;

namespace PerazziSync.Observability.Tests;

/// <summary>
/// One callback is one trace: the receiver's request, the publish, the worker's consume, its
/// BigCommerce calls and its SQL. Both hosts run in this process so that one in-memory exporter
/// sees every span.
/// </summary>
public sealed class TracingTests : IAsyncLifetime
{
    readonly List<Activity> _spans = [];
    TestDatabase _database = null!;
    TestVirtualHost _broker = null!;
    FakeBigCommerce _store = null!;
    WebApplicationFactory<ReceiverOptions> _receiver = null!;
    WebApplicationFactory<DatabaseCircuit> _worker = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateMigratedAsync();
        await using (var connection = await _database.OpenAsync())
        {
            await PortalUsers.SeedAsync(connection);
        }
        _broker = await TestVirtualHost.CreateAsync();
        _store = await FakeBigCommerce.StartAsync(ProductUnderTest.StoreHash);
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings:Postgres"] = _database.ConnectionString,
            ["ConnectionStrings:RabbitMq"] = _broker.AmqpUri,
            ["BigCommerce:ApiBaseUrl"] = _store.BaseUrl,
            ["BigCommerce:StoreHash"] = ProductUnderTest.StoreHash,
            ["BigCommerce:AccessToken"] = FakeBigCommerce.AccessToken,
            ["BigCommerce:WebhookSecret"] = WebhookSender.Base64Secret(WebhookSender.BigCommerceClientSecret),
            ["BigCommerce:CoalesceDelay"] = "00:00:00.100",
            ["BigCommerce:ReconcileCron"] = "0 0 0 1 1 ? 2099",
            ["BigCommerce:ParkedRetryCron"] = "0 0 0 1 1 ? 2099",
            ["Pos:WebhookSecret"] = WebhookSender.PosSecret,
        };
        _receiver = Configure(new WebApplicationFactory<ReceiverOptions>(), settings, exportSpans: false);
        // One exporter is enough: each host's tracer provider listens to every span of the process.
        _worker = Configure(new WebApplicationFactory<DatabaseCircuit>(), settings, exportSpans: true);
        _ = _worker.Services;
        _ = _receiver.Services;
        // The receiver refuses a callback (503) until a worker has declared the queue it goes to.
        using var worker = _worker.CreateClient();
        await ProductUnderTest.EventuallyAsync(
            "the worker ready, its queues declared",
            async () => (await worker.GetAsync("/health/ready")).StatusCode,
            status => status == HttpStatusCode.OK);
    }

    WebApplicationFactory<T> Configure<T>(WebApplicationFactory<T> factory, Dictionary<string, string> settings, bool exportSpans)
        where T : class =>
        factory.WithWebHostBuilder(web =>
        {
            foreach (var (key, value) in settings)
            {
                web.UseSetting(key, value);
            }
            if (exportSpans)
            {
                web.ConfigureServices(services => services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(_spans)));
            }
        });

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        await _worker.DisposeAsync();
        await _store.DisposeAsync();
        await _broker.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task A_signed_webhook_is_one_trace_from_the_receiver_to_the_sql_and_its_audit_rows_carry_the_trace_id()
    {
        _store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        _store.PutOrder(BigCommerceFixtures.Order(218, 11, DateTimeOffset.UtcNow.AddMinutes(-1)), BigCommerceFixtures.Lines(218));
        var sender = new WebhookSender(_receiver.CreateClient(), "/webhooks/bigcommerce", WebhookSender.Base64Secret(WebhookSender.BigCommerceClientSecret));

        (await sender.SendAsync(BigCommerceFixtures.Callback("webhook-order-created.json", ProductUnderTest.StoreHash, 218))).EnsureSuccessStatusCode();

        await using var connection = await _database.OpenAsync();
        var traceIds = await ProductUnderTest.EventuallyAsync(
            "audit rows of order 218 with a trace id",
            async () => (await connection.QueryAsync<string?>(
                "select distinct metadata->>'trace_id' from audit_log where action like 'commerce.%'")).ToList(),
            ids => ids.Count > 0);
        var traceId = Assert.Single(traceIds);
        Assert.NotNull(traceId);
        Assert.Equal(4, await connection.ExecuteScalarAsync<long>(
            "select count(*) from audit_log where metadata->>'trace_id' = @traceId", new { traceId }));

        // A span is exported when it ends; the consume span ends just after the commit.
        var trace = await ProductUnderTest.EventuallyAsync(
            "the consume span of the webhook's trace",
            () =>
            {
                try
                {
                    return Task.FromResult(_spans.Where(s => s.TraceId.ToString() == traceId).ToList());
                }
                catch (InvalidOperationException)
                {
                    // The exporter added a span while this read: read again.
                    return Task.FromResult(new List<Activity>());
                }
            },
            spans => spans.Exists(s => s.Kind == ActivityKind.Consumer));
        var request = Assert.Single(trace, s => s.Kind == ActivityKind.Server && s.DisplayName.Contains("/webhooks/bigcommerce", StringComparison.Ordinal));
        Assert.Null(request.Parent);
        Assert.Contains(trace, s => s.Kind == ActivityKind.Producer && s.Source.Name == "MassTransit");
        Assert.Contains(trace, s => s.Kind == ActivityKind.Consumer && s.Source.Name == "MassTransit"
            && s.DisplayName.Contains(Queues.BigCommerceOrderChanged, StringComparison.Ordinal));
        Assert.Contains(trace, s => s.Kind == ActivityKind.Client && s.GetTagItem("url.full") is string url
            && url.Contains("/v2/orders/218", StringComparison.Ordinal));
        Assert.Contains(trace, s => s.Kind == ActivityKind.Client && s.Source.Name == "Npgsql"
            && (s.GetTagItem("db.query.text") ?? s.GetTagItem("db.statement")) is string sql
            && sql.Contains("commerce_orders", StringComparison.Ordinal));
    }
}
