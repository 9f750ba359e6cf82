using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Trace;
using PerazziSync.ServiceDefaults;
using Xunit;

namespace PerazziSync.Rules.Tests;

/// <summary>
/// Which traces a host exports: every failed or slow one whole, of the others the configured share
/// by trace id, the same in every host.
/// </summary>
public sealed class TraceSamplingTests : IDisposable
{
    readonly ActivitySource _receiver = new("rules.receiver." + Guid.NewGuid().ToString("N"));
    readonly ActivitySource _worker = new("rules.worker." + Guid.NewGuid().ToString("N"));
    readonly List<TracerProvider> _providers = [];

    public void Dispose()
    {
        foreach (var provider in _providers)
        {
            provider.Dispose();
        }
        _receiver.Dispose();
        _worker.Dispose();
    }

    /// <summary>A host listening to <paramref name="source"/>, exporting what it keeps into the list returned.</summary>
    List<Activity> Host(ActivitySource source, double ratio)
    {
        var exported = new List<Activity>();
        _providers.Add(OpenTelemetry.Sdk.CreateTracerProviderBuilder()
            .AddSource(source.Name)
            .AddProcessor(new TraceSampling(
                new SimpleActivityExportProcessor(new InMemoryExporter<Activity>(exported)),
                new TracingOptions { SampleRatio = ratio, SlowerThan = TimeSpan.FromSeconds(1) }))
            .Build()!);
        return exported;
    }

    static string Names(IEnumerable<Activity> spans) => string.Join(",", spans.Select(s => s.DisplayName));

    [Fact]
    public void With_a_ratio_of_zero_an_ordinary_trace_is_dropped_and_a_failed_one_is_exported_whole_children_first()
    {
        var exported = Host(_receiver, ratio: 0);

        using (var request = _receiver.StartActivity("ordinary"))
        {
            using var publish = _receiver.StartActivity("ordinary-publish");
        }
        using (var request = _receiver.StartActivity("failed"))
        {
            using (var publish = _receiver.StartActivity("failed-publish"))
            {
                publish!.SetStatus(ActivityStatusCode.Error, "broker did not confirm");
            }
            using var answer = _receiver.StartActivity("failed-answer");
        }

        Assert.Equal("failed-publish,failed-answer,failed", Names(exported));
    }

    [Fact]
    public void An_http_answer_of_400_or_more_is_a_failure_and_a_slow_root_is_kept()
    {
        var exported = Host(_receiver, ratio: 0);

        foreach (var (name, status) in new[] { ("ok", 200), ("rejected", 401), ("unavailable", 503) })
        {
            using var request = _receiver.StartActivity(name, ActivityKind.Server);
            request!.SetTag("http.response.status_code", status);
        }
        using (var slow = _receiver.StartActivity("slow"))
        {
            using (_receiver.StartActivity("slow-query"))
            {
            }
            slow!.SetEndTime(slow.StartTimeUtc.AddSeconds(2));
        }

        Assert.Equal("rejected,unavailable,slow-query,slow", Names(exported));
    }

    [Fact]
    public void With_a_ratio_of_one_every_trace_is_exported()
    {
        var exported = Host(_receiver, ratio: 1);

        for (var i = 0; i < 10; i++)
        {
            using var request = _receiver.StartActivity($"request-{i}");
            using var publish = _receiver.StartActivity($"publish-{i}");
        }

        Assert.Equal(20, exported.Count);
    }

    [Fact]
    public void Two_hosts_sampling_the_same_share_keep_the_same_traces_whole()
    {
        var atReceiver = Host(_receiver, ratio: 0.5);
        var atWorker = Host(_worker, ratio: 0.5);

        for (var i = 0; i < 200; i++)
        {
            ActivityContext message;
            using (var request = _receiver.StartActivity("request"))
            {
                using var publish = _receiver.StartActivity("publish");
                message = publish!.Context;
            }
            // The worker continues the trace from the message's headers: a remote parent.
            using var consume = _worker.StartActivity("consume", ActivityKind.Consumer, new ActivityContext(message.TraceId, message.SpanId, message.TraceFlags, isRemote: true));
            using var query = _worker.StartActivity("query");
        }

        var keptByReceiver = atReceiver.Select(s => s.TraceId.ToHexString()).Distinct().Order(StringComparer.Ordinal).ToList();
        var keptByWorker = atWorker.Select(s => s.TraceId.ToHexString()).Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.Equal(keptByReceiver, keptByWorker);
        Assert.InRange(keptByReceiver.Count, 60, 140);
        Assert.Equal(2 * keptByReceiver.Count, atReceiver.Count);
        Assert.Equal(2 * keptByWorker.Count, atWorker.Count);
    }

    [Fact]
    public void A_span_ending_after_its_root_follows_the_decision_taken_for_the_trace()
    {
        var exported = Host(_receiver, ratio: 0);

        var request = _receiver.StartActivity("failed")!;
        var late = _receiver.StartActivity("late")!;
        Activity.Current = null;
        request.SetStatus(ActivityStatusCode.Error);
        request.Stop();
        late.Stop();
        // Stop makes the stopped span's parent current again.
        Activity.Current = null;

        var ordinary = _receiver.StartActivity("ordinary")!;
        var ordinaryLate = _receiver.StartActivity("ordinary-late")!;
        Activity.Current = null;
        ordinary.Stop();
        ordinaryLate.Stop();

        Assert.Equal("failed,late", Names(exported));
    }

    [Fact]
    public void A_trace_with_more_spans_waiting_than_the_limit_is_kept_and_exported_as_it_goes()
    {
        var exported = Host(_receiver, ratio: 0);

        using (var job = _receiver.StartActivity("sweep"))
        {
            for (var i = 0; i < TraceSampling.MaxWaiting + 10; i++)
            {
                using var query = _receiver.StartActivity("query");
            }
            Assert.Equal(TraceSampling.MaxWaiting + 10, exported.Count);
        }

        Assert.Equal(TraceSampling.MaxWaiting + 11, exported.Count);
        Assert.Equal("sweep", exported[^1].DisplayName);
    }
}
