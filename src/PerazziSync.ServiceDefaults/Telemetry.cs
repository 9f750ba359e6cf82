using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace PerazziSync.ServiceDefaults;

/// <summary>The product's one ActivitySource and one Meter.</summary>
public static class Telemetry
{
    public const string Name = "PerazziSync";

    public static readonly ActivitySource ActivitySource = new(Name);

    public static readonly Meter Meter = new(Name);

    /// <summary>Callbacks by route and outcome (accepted, ignored, rejected reason, unavailable).</summary>
    public static readonly Counter<long> WebhooksReceived =
        Meter.CreateCounter<long>("perazzisync.webhooks.received", description: "Webhook callbacks received, by route and outcome");

    /// <summary>Consumed messages by outcome (applied, unchanged, stale, parked, coalesced, dead_lettered).</summary>
    public static readonly Counter<long> MessagesConsumed =
        Meter.CreateCounter<long>("perazzisync.messages.consumed", description: "Messages consumed, by type and outcome");

    /// <summary>From the source's own event time (order/customer date_modified, POS updated_at) to the row committed.</summary>
    public static readonly Histogram<double> SyncLag =
        Meter.CreateHistogram<double>("perazzisync.sync.lag", unit: "s",
            description: "Time from the source's change to its row committed, by source",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600] });

    /// <summary>Records the lag of one applied change whose source time is <paramref name="changedAt"/>.</summary>
    public static void RecordLag(string source, DateTimeOffset? changedAt, TimeProvider time)
    {
        if (changedAt is { } at)
        {
            SyncLag.Record(Math.Max(0, (time.GetUtcNow() - at).TotalSeconds), new KeyValuePair<string, object?>("source", source));
        }
    }
}
