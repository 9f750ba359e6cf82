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

    /// <summary>Consumed messages by outcome (applied, unchanged, stale, parked, skipped).</summary>
    public static readonly Counter<long> MessagesConsumed =
        Meter.CreateCounter<long>("perazzisync.messages.consumed", description: "Messages consumed, by type and outcome");
}
