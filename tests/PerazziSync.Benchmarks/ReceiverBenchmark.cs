using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime;
using System.Text;
using MassTransit;
using PerazziSync.Contracts;
using PerazziSync.Testing;

namespace PerazziSync.Benchmarks;

/// <summary>
/// Signed BigCommerce callbacks against the receiver on loopback, next to the raw limit measured
/// in the same rounds: the same messages published straight to the broker with confirms.
/// </summary>
static class ReceiverBenchmark
{
    static readonly Option Seconds = new("seconds", 20, 3, "length of each phase");
    static readonly Option Rate = new("rate", 500, 500, "callbacks per second in the steady phase");
    static readonly Option Concurrency = new("concurrency", 32, 32, "callbacks in flight in the saturated phases");
    static readonly Option TracePercent = new("trace-percent", 10, 10, "percentage of ordinary traces exported (Tracing__SampleRatio); failed and slow ones always are");

    public static readonly Benchmark Definition = new(
        "receiver", "signed BigCommerce callbacks against the receiver, next to a bare confirmed publish of the same messages",
        [Seconds, Rate, Concurrency, TracePercent], RunAsync);

    /// <summary>Orders the callbacks are about; the receiver fetches nothing, so any number would do.</summary>
    const int Orders = 500;

    /// <summary>
    /// Deliveries signed per phase, sent round and round. The receiver is told to remember fewer
    /// (see <see cref="RememberedDeliveries"/>) so that each comes back forgotten and is published
    /// again rather than answered as a replay; the checks below count that it was.
    /// </summary>
    const int Signed = 20_000;

    const int RememberedDeliveries = 1_000;

    const int QueueLength = 10_000;

    /// <summary>
    /// Each side is warmed up in slices of load until, over a slice, its process spends less than
    /// <see cref="SettledShare"/> of it compiling: a receiver that has been running has its
    /// request path compiled at the JIT's final tier, and a short warm-up left the first round
    /// measuring the JIT (in a profile of a 3 s warm-up, a quarter of the receiver's CPU in the
    /// round after it went to the JIT's background thread). Bounded by <see cref="LongestWarmUp"/>.
    /// </summary>
    static readonly TimeSpan WarmUpSlice = TimeSpan.FromSeconds(2);

    const double SettledShare = 0.01;

    static readonly TimeSpan LongestWarmUp = TimeSpan.FromSeconds(60);

    static readonly MediaTypeHeaderValue Json = new("application/json");

    sealed record Delivery(byte[] Body, string Id, string Timestamp, string Signature);

    static async Task<Section> RunAsync(Arguments arguments)
    {
        var rounds = arguments.Rounds;
        var duration = TimeSpan.FromSeconds(arguments.Int(Seconds));
        var rate = arguments.Int(Rate);
        var concurrency = arguments.Int(Concurrency);
        var tracePercent = arguments.Int(TracePercent);

        Log.Step("receiver: starting the receiver, exporting its traces to an OTLP sink");
        await using var sink = await OtlpCollector.StartAsync(keepBodies: false);
        await using var product = await ProductUnderTest.StartAsync(workers: 0, settings: new Dictionary<string, string>(sink.Settings)
        {
            ["Logging__LogLevel__Default"] = "Warning",
            ["Receiver__RememberedDeliveries"] = RememberedDeliveries.ToString(CultureInfo.InvariantCulture),
            ["Tracing__SampleRatio"] = (tracePercent / 100.0).ToString(CultureInfo.InvariantCulture),
        });
        // The broker stores what it confirms: a durable queue is bound, as the worker's would be,
        // kept short so that the broker's memory does not grow over the run.
        var queue = await product.Broker.ProbeAsync<BigCommerceOrderChanged>(maxLength: QueueLength);

        // Confirms set here, not left to MassTransit's default: the reference must wait for the
        // broker exactly as the receiver does before it answers 200.
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit => rabbit.Host(new Uri(product.Broker.AmqpUri), host => host.PublisherConfirmation = true));
        await bus.StartAsync();
        try
        {
            Func<long, Task<bool>> publish = async i =>
            {
                var message = new BigCommerceOrderChanged(ProductUnderTest.StoreHash, OrderId(i), "store/order/updated", $"bench-{i}", DateTimeOffset.UtcNow);
                // Mandatory, as the receiver's publish is (MandatoryPublish).
                await bus.Publish(message, context =>
                {
                    context.MessageId = NewId.NextGuid();
                    context.GetPayload<RabbitMqSendContext>().Mandatory = true;
                });
                return true;
            };

            var webhooks = product.BigCommerceWebhooks;
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var url = new Uri(product.ReceiverUrl + "/webhooks/bigcommerce");
            var bodies = Enumerable.Range(0, Orders)
                .Select(i => BigCommerceFixtures.Callback("webhook-order-updated.json", ProductUnderTest.StoreHash, OrderId(i)))
                .ToArray();
            Delivery[] deliveries = [];
            // Signed ahead of each phase, so the load generator, which shares the machine's cores
            // with the receiver and the broker, spends them on sending only.
            void SignDeliveries(string idPrefix)
            {
                var timestamp = DateTimeOffset.UtcNow;
                deliveries = [.. Enumerable.Range(0, Signed).Select(i =>
                {
                    var body = bodies[i % bodies.Length];
                    var id = $"bench-{idPrefix}-{i}";
                    return new Delivery(Encoding.UTF8.GetBytes(body), id,
                        timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), webhooks.Sign(body, id, timestamp));
                })];
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
            // A 200 is also the answer to a replay, which publishes nothing: the receiver's own
            // count of published callbacks must match every 200 of the phase.
            async Task<PhaseResult> ReceiverPhaseAsync(string phase, string idPrefix, Func<Task<PhaseResult>> run, List<Check> checks)
            {
                SignDeliveries(idPrefix);
                var before = await PublishedAsync(product);
                var result = await run();
                var published = await PublishedAsync(product) - before;
                checks.Add(new(published == result.Succeeded, $"{phase}: {result.Succeeded:N0} answered 200 but {published:N0} published"));
                checks.Add(new(result.Failed == 0, $"{phase}: {result.Failed:N0} callbacks failed"));
                await product.Broker.PurgeAsync(queue);
                return result;
            }

            var bareWarmUp = await WarmUpAsync("bare publish",
                () => Task.FromResult(JitInfo.GetCompilationTime()),
                () => Load.ClosedLoopAsync("warm-up", concurrency, WarmUpSlice, publish));
            SignDeliveries("warm-up");
            var receiverWarmUp = await WarmUpAsync("receiver",
                async () => TimeSpan.FromSeconds(await Metrics.ReadAsync(product.ReceiverManagementUrl, "dotnet_jit_compilation_time_seconds_total")),
                () => Load.ClosedLoopAsync("warm-up", concurrency, WarmUpSlice, post));
            await product.Broker.PurgeAsync(queue);

            var bare = new List<PhaseResult>();
            var saturated = new List<PhaseResult>();
            var paced = new List<PhaseResult>();
            var bareChecks = new List<Check>();
            var saturatedChecks = new List<Check>();
            var pacedChecks = new List<Check>();
            var receiverCpu = new CpuUse("receiver", "callback");
            var bareCpu = new CpuUse("receiver", "message");
            async Task<PhaseResult> ProfiledAsync(CpuUse cpu, Func<Task<PhaseResult>> run)
            {
                var before = CpuUse.Read(product.Receiver!.Id);
                var result = await run();
                cpu.Add(before, CpuUse.Read(product.Receiver!.Id), result.Succeeded);
                return result;
            }
            for (var round = 1; round <= rounds; round++)
            {
                Log.Step($"receiver: round {round}/{rounds}, bare publish, {concurrency} in flight, {duration.TotalSeconds:N0} s");
                var reference = await ProfiledAsync(bareCpu, () => Load.ClosedLoopAsync("bare", concurrency, duration, publish));
                bareChecks.Add(new(reference.Failed == 0, $"round {round}: {reference.Failed:N0} bare publishes failed"));
                bare.Add(reference);
                await product.Broker.PurgeAsync(queue);

                Log.Step($"receiver: round {round}/{rounds}, receiver, {concurrency} in flight, {duration.TotalSeconds:N0} s");
                saturated.Add(await ReceiverPhaseAsync($"round {round} saturated", $"{round}-saturated",
                    () => ProfiledAsync(receiverCpu, () => Load.ClosedLoopAsync("saturated", concurrency, duration, post)), saturatedChecks));

                Log.Step($"receiver: round {round}/{rounds}, receiver at {rate}/s, {duration.TotalSeconds:N0} s");
                paced.Add(await ReceiverPhaseAsync($"round {round} at {rate}/s", $"{round}-paced",
                    () => Load.OpenLoopAsync("paced", rate, duration, post), pacedChecks));
            }

            // Some ordinary traces are exported at any percentage above 0, so the sink must have taken traces.
            var exported = new Check(tracePercent == 0 || sink.TraceExportCount > 0, "the receiver exported no trace to the OTLP sink");
            Log.Step($"receiver: {sink.TraceExportCount:N0} trace exports, {sink.TraceBytes:N0} bytes, taken by the OTLP sink");
            return new Section(
                "Receiver",
                string.Create(CultureInfo.InvariantCulture,
                    $"Each round: {duration.TotalSeconds:N0} s of the bare publish with {concurrency} in flight, {duration.TotalSeconds:N0} s of signed `store/order/updated` callbacks for {Orders} orders with {concurrency} in flight, then {duration.TotalSeconds:N0} s at a steady {rate} callbacks/s, each latency counted from when its callback was due. Before the first round each side is warmed up with {concurrency} in flight, {WarmUpSlice.TotalSeconds:N0} s at a time, until its process spends less than {SettledShare:P0} of {WarmUpSlice.TotalSeconds:N0} s compiling code (the bare publish: {bareWarmUp.TotalSeconds:N0} s; the receiver: {receiverWarmUp.TotalSeconds:N0} s), as in processes that have been running."),
                $"The reference is MassTransit publishing the message the receiver publishes for such a callback (`BigCommerceOrderChanged`), with publisher confirms set on the bus, {concurrency} in flight, to the same exchange and the same durable queue (kept to {QueueLength:N0} messages), purged after every phase.",
                [
                    Row.Relative($"receiver: signed callbacks accepted/s, {concurrency} in flight", Rates(saturated), "bare confirmed publish", Rates(bare),
                        Target.MedianAtLeast(0.70), [.. bareChecks, .. saturatedChecks, exported]),
                    Row.Absolute($"receiver: p99 latency at a steady {rate} callbacks/s", new Figure(paced.Select(p => p.Latencies.Percentile(99)), Unit.Milliseconds),
                        Target.MedianBelow(50), [.. pacedChecks]),
                ],
                [
                    "an HTTP request over loopback per callback, sent by the load generator's HttpClient on the same cores",
                    "the body read within its size limit; the Standard Webhooks signature (HMAC-SHA256) and timestamp verified",
                    $"the delivery looked up in and added to the replay memory ({RememberedDeliveries:N0} deliveries here instead of the default 100,000, so that the {Signed:N0} pre-signed deliveries sent round and round are published again, not answered as replays)",
                    "UTF-8 checked and the JSON parsed; the message id derived from the webhook-id (SHA-256); a JSON answer",
                    $"a trace per callback (the request and the publish), its spans held until the request ends and then, for {tracePercent} % of the traces chosen by trace id and for every failed or slow request, exported over OTLP/HTTP to a sink on loopback that takes and drops them, as to a collector (`Tracing__SampleRatio={tracePercent / 100.0:0.##}`); its metrics; logs at Warning, where a deployment logs one Information line per callback",
                ],
                [
                    "nothing the receiver does not do too; it publishes from the load generator's own process, sharing its cores with the load generator as the receiver shares them with the load generator's HTTP client",
                ])
            {
                Profile =
                [
                    $"the machine's CPU while the receiver took callbacks with {concurrency} in flight, over every round: {receiverCpu.Describe()}",
                    $"during the bare publish: {bareCpu.Describe()}",
                ],
            };
        }
        finally
        {
            await bus.StopAsync();
        }
    }

    /// <summary>Runs <paramref name="slice"/> until the JIT has settled (see <see cref="WarmUpSlice"/>); returns how long that took.</summary>
    static async Task<TimeSpan> WarmUpAsync(string side, Func<Task<TimeSpan>> compiling, Func<Task<PhaseResult>> slice)
    {
        Log.Step($"receiver: warming up the {side} until it compiles for less than {SettledShare:P0} of {WarmUpSlice.TotalSeconds:N0} s");
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var before = await compiling();
            await slice();
            var spent = await compiling() - before;
            if (spent < WarmUpSlice * SettledShare)
            {
                return clock.Elapsed;
            }
            if (clock.Elapsed >= LongestWarmUp)
            {
                Log.Step($"receiver: the {side} still compiled for {spent.TotalMilliseconds:N0} ms of the last {WarmUpSlice.TotalSeconds:N0} s after {clock.Elapsed.TotalSeconds:N0} s; measuring it anyway");
                return clock.Elapsed;
            }
        }
    }

    static long OrderId(long i) => 1000 + (i % Orders);

    static Figure Rates(IEnumerable<PhaseResult> phases) => new(phases.Select(p => p.PerSecond), Unit.PerSecond);

    static async Task<long> PublishedAsync(ProductUnderTest product) =>
        (long)await Metrics.ReadAsync(product.ReceiverManagementUrl, "perazzisync_webhooks_received_total", "route=\"bigcommerce\"", "outcome=\"accepted\"");
}
