using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using MassTransit;
using PerazziSync.Contracts;
using PerazziSync.Testing;

namespace PerazziSync.Benchmarks;

/// <summary>
/// Signed BigCommerce callbacks against the receiver on loopback, next to the raw limit measured
/// in the same run: the same messages published straight to the broker with confirms.
/// </summary>
static class ReceiverBenchmark
{
    static readonly MediaTypeHeaderValue Json = new("application/json");

    sealed record Delivery(byte[] Body, string Id, string Timestamp, string Signature);

    public sealed record Result(TimeSpan Duration, PhaseResult Bare, PhaseResult Saturated, PhaseResult Paced);

    public static async Task RunAsync(Arguments arguments)
    {
        var (duration, bare, saturated, paced) = await MeasureAsync(arguments);
        Console.WriteLine();
        Console.WriteLine($"Receiver benchmark, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, {duration.TotalSeconds} s per phase");
        Console.WriteLine();
        Console.WriteLine("| phase | accepted/s | p50 | p99 | failed |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var phase in new[] { bare, saturated, paced })
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {phase.Name} | {phase.PerSecond:0} | {phase.Latencies.Percentile(50)} | {phase.Latencies.Percentile(99)} | {phase.Failed} |"));
        }
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Receiver saturated / bare publish: {saturated.PerSecond / bare.PerSecond:P0} (target at least 60%)"));
    }

    public static async Task<Result> MeasureAsync(Arguments arguments)
    {
        var duration = TimeSpan.FromSeconds(arguments.Int("seconds", 60));
        var rate = arguments.Int("rate", 500);
        var concurrency = arguments.Int("concurrency", 32);
        var warmUp = TimeSpan.FromSeconds(3);

        Console.Error.WriteLine("Starting the receiver...");
        await using var product = await ProductUnderTest.StartAsync(workers: 0, settings: new Dictionary<string, string>
        {
            ["Logging__LogLevel__Default"] = "Warning",
            // The pre-signed deliveries come round again every 20,000 requests: remembering fewer
            // keeps the receiver from answering them as replays instead of publishing them.
            ["Receiver__RememberedDeliveries"] = "1000",
        });
        // The broker stores what it confirms: a durable queue is bound, as the worker's would be,
        // kept short so that the broker's memory does not grow over the run.
        var queue = await product.Broker.ProbeAsync<BigCommerceOrderChanged>(maxLength: 10_000);

        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit => rabbit.Host(new Uri(product.Broker.AmqpUri)));
        await bus.StartAsync();
        Func<long, Task<bool>> publish = async i =>
        {
            var message = new BigCommerceOrderChanged(ProductUnderTest.StoreHash, 1000 + (i % 500), "store/order/updated", $"bench-{i}", DateTimeOffset.UtcNow);
            await bus.Publish(message, context => context.MessageId = NewId.NextGuid());
            return true;
        };
        Console.Error.WriteLine($"Bare confirmed publish, {concurrency} in flight, {duration.TotalSeconds} s...");
        await Load.ClosedLoopAsync("warm-up", concurrency, warmUp, publish);
        var bare = await Load.ClosedLoopAsync("Bare MassTransit publish with confirms (raw limit)", concurrency, duration, publish);
        await bus.StopAsync();
        await product.Broker.PurgeAsync(queue);

        // Deliveries are signed before each phase, so the load generator, which shares the
        // machine's cores with the receiver and the broker, spends them on sending only.
        var webhooks = product.BigCommerceWebhooks;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var url = new Uri(product.ReceiverUrl + "/webhooks/bigcommerce");
        var bodies = Enumerable.Range(0, 500)
            .Select(i => BigCommerceFixtures.Callback("webhook-order-updated.json", ProductUnderTest.StoreHash, 1000 + i))
            .ToArray();
        Delivery[] deliveries = [];
        void SignDeliveries(string phase)
        {
            var timestamp = DateTimeOffset.UtcNow;
            deliveries = Enumerable.Range(0, 20_000).Select(i =>
            {
                var body = bodies[i % bodies.Length];
                var id = $"bench-{phase}-{i}";
                return new Delivery(Encoding.UTF8.GetBytes(body), id,
                    timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), webhooks.Sign(body, id, timestamp));
            }).ToArray();
        }
        Func<long, Task<bool>> post = async i =>
        {
            var delivery = deliveries[i % deliveries.Length];
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(delivery.Body) };
            request.Content.Headers.ContentType = Json;
            request.Headers.Add("webhook-id", delivery.Id);
            request.Headers.Add("webhook-timestamp", delivery.Timestamp);
            request.Headers.Add("webhook-signature", delivery.Signature);
            using var response = await http.SendAsync(request);
            return response.StatusCode == HttpStatusCode.OK;
        };
        SignDeliveries("warm-up");
        Console.Error.WriteLine($"Receiver, {concurrency} callbacks in flight, {duration.TotalSeconds} s...");
        await Load.ClosedLoopAsync("warm-up", concurrency, warmUp, post);
        SignDeliveries("saturated");
        var saturated = await Load.ClosedLoopAsync("Receiver, saturated", concurrency, duration, post);
        await product.Broker.PurgeAsync(queue);

        SignDeliveries("paced");
        Console.Error.WriteLine($"Receiver at {rate} callbacks/s, {duration.TotalSeconds} s...");
        var paced = await Load.OpenLoopAsync($"Receiver at {rate}/s", rate, duration, post);
        await product.Broker.PurgeAsync(queue);
        return new Result(duration, bare, saturated, paced);
    }
}
