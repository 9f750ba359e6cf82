using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace PerazziSync.ServiceDefaults;

/// <summary>
/// Tail sampling in front of an exporter: the spans of a request, message or job wait until the
/// span that began it in this process (its local root) ends, and then all of them are exported,
/// or none. Kept: every trace that failed (a span with error status, or an HTTP answer of 400 or
/// more), every slow one (<see cref="TracingOptions.SlowerThan"/>), and of the others the share
/// <see cref="TracingOptions.SampleRatio"/> chosen by trace id. The trace context passed on in
/// messages still says "sampled", so the next host records its part and decides the same way.
/// </summary>
public sealed class TraceSampling : CompositeProcessor<Activity>
{
    /// <summary>A trace with more spans than this waiting is kept, and its spans export as they end.</summary>
    public const int MaxWaiting = 2_048;

    const string WaitingProperty = "perazzisync.trace_sampling";

    readonly Sampler _ratio;
    readonly TimeSpan _slowerThan;

    public TraceSampling(BaseProcessor<Activity> export, TracingOptions options)
        : base([export])
    {
        _ratio = new TraceIdRatioBasedSampler(options.SampleRatio);
        _slowerThan = options.SlowerThan;
    }

    /// <summary>
    /// The spans of one local root that ended before it, until the trace is decided (then null),
    /// and the decision.
    /// </summary>
    sealed class Waiting
    {
        public List<Activity>? Spans = [];
        public bool Keep;
    }

    public override void OnStart(Activity data)
    {
        if (data.Parent is null)
        {
            data.SetCustomProperty(WaitingProperty, new Waiting());
        }
        base.OnStart(data);
    }

    public override void OnEnd(Activity data)
    {
        if (data.Parent is null)
        {
            EndRoot(data);
            return;
        }
        var root = data;
        while (root.Parent is not null)
        {
            root = root.Parent;
        }
        if (root.GetCustomProperty(WaitingProperty) is not Waiting waiting)
        {
            // A root this provider does not record: nothing will end it here, so decide alone.
            if (Failed(data) || IsSlow(data) || Sampled(data))
            {
                base.OnEnd(data);
            }
            return;
        }
        List<Activity>? overflow = null;
        bool keep;
        lock (waiting)
        {
            if (waiting.Spans is { } spans)
            {
                spans.Add(data);
                if (spans.Count < MaxWaiting)
                {
                    return;
                }
                waiting.Keep = true;
                overflow = spans;
                waiting.Spans = null;
            }
            keep = waiting.Keep;
        }
        if (overflow is not null)
        {
            ExportAll(overflow);
        }
        else if (keep || Failed(data) || IsSlow(data))
        {
            // Ended after its root: exported with the trace, or alone as a failure of its own.
            base.OnEnd(data);
        }
    }

    void EndRoot(Activity root)
    {
        if (root.GetCustomProperty(WaitingProperty) is not Waiting waiting)
        {
            // Started before this processor was listening.
            base.OnEnd(root);
            return;
        }
        List<Activity>? spans;
        bool keep;
        lock (waiting)
        {
            spans = waiting.Spans;
            waiting.Spans = null;
            if (spans is not null)
            {
                waiting.Keep = Failed(root) || IsSlow(root) || Sampled(root) || spans.Exists(Failed);
            }
            keep = waiting.Keep;
        }
        if (keep)
        {
            ExportAll(spans ?? []);
            base.OnEnd(root);
        }
    }

    void ExportAll(List<Activity> spans)
    {
        foreach (var span in spans)
        {
            base.OnEnd(span);
        }
    }

    static bool Failed(Activity span) =>
        span.Status == ActivityStatusCode.Error
        || span.GetTagItem("http.response.status_code") is int status and >= 400;

    bool IsSlow(Activity span) => span.Duration >= _slowerThan;

    bool Sampled(Activity span) =>
        _ratio.ShouldSample(new SamplingParameters(default, span.TraceId, span.DisplayName, span.Kind)).Decision
            == SamplingDecision.RecordAndSample;
}
