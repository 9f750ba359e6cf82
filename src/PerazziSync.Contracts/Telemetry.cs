using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace PerazziSync.Contracts;

/// <summary>
/// The product's one ActivitySource and one Meter, and the instruments every host and library
/// records on; their names are a contract with the dashboards and alerts built on them.
/// </summary>
public static class Telemetry
{
    public const string Name = "PerazziSync";

    /// <summary>The health checks <c>/health/ready</c> runs: the dependencies a host needs to do its work.</summary>
    public const string ReadyTag = "ready";

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

    /// <summary>Rows of POS exports (Cli and drop folder), by outcome.</summary>
    public static readonly Counter<long> PosImportRows =
        Meter.CreateCounter<long>("perazzisync.pos.import.rows", description: "POS export rows imported, by outcome");

    /// <summary>
    /// What the asset gauges report: verified assets by method and open review items, as a worker
    /// last counted them in the database. Counted there, not where each verification happens, so
    /// the operators' verifications (the Cli exports no metrics) count as well as the sync's.
    /// </summary>
    sealed record AssetCounts(IReadOnlyDictionary<string, long> VerifiedByMethod, long OpenReviews);

    static AssetCounts? _assetCounts;

    /// <summary>Verified assets by <c>method</c> (<see cref="VerificationMethods"/>, or <c>none</c>), as last counted.</summary>
    public static readonly ObservableGauge<long> VerifiedAssets =
        Meter.CreateObservableGauge("perazzisync.assets.verified", ObserveVerifiedAssets,
            description: "Verified assets, by verification method, as last counted");

    /// <summary>Claims waiting for an operator's review (<c>perazzi_sync.asset_claims</c>), as last counted.</summary>
    public static readonly ObservableGauge<long> OpenAssetReviews =
        Meter.CreateObservableGauge("perazzisync.assets.reviews.open", ObserveOpenAssetReviews,
            description: "Claimed assets waiting for an operator's review, as last counted");

    /// <summary>What the asset gauges report from now on; until the first count they report nothing.</summary>
    public static void SetAssetCounts(IReadOnlyDictionary<string, long> verifiedByMethod, long openReviews) =>
        Volatile.Write(ref _assetCounts, new AssetCounts(verifiedByMethod, openReviews));

    static IEnumerable<Measurement<long>> ObserveVerifiedAssets() =>
        Volatile.Read(ref _assetCounts)?.VerifiedByMethod.Select(m => new Measurement<long>(m.Value, new KeyValuePair<string, object?>("method", m.Key))) ?? [];

    static IEnumerable<Measurement<long>> ObserveOpenAssetReviews() =>
        Volatile.Read(ref _assetCounts) is { } counts ? [new Measurement<long>(counts.OpenReviews)] : [];

    /// <summary>Every BigCommerce API attempt, retries included, by HTTP status (or <c>timeout</c>).</summary>
    public static readonly Counter<long> BigCommerceRequests =
        Meter.CreateCounter<long>("perazzisync.bigcommerce.requests", description: "BigCommerce API requests sent, by status");

    /// <summary>How long each BigCommerce request waited for the store's shared request budget.</summary>
    public static readonly Histogram<double> BigCommerceBudgetWait =
        Meter.CreateHistogram<double>("perazzisync.bigcommerce.budget_wait", unit: "s",
            description: "Time a BigCommerce request waited for the shared rate-limit budget");

    /// <summary>
    /// The store's subscription to each scope the receiver handles, as the last check found it
    /// (tags <c>scope</c>, <c>state</c>): 1 for its state (<c>active</c>, <c>inactive</c>,
    /// <c>missing</c>), 0 for the other two.
    /// </summary>
    public static readonly Gauge<int> BigCommerceHooks =
        Meter.CreateGauge<int>("perazzisync.bigcommerce.hooks", description: "The store's webhook subscriptions by scope and state, as last checked");

    /// <summary>Domains of the product's hooks that BigCommerce has blocked for now, as the last check found them.</summary>
    public static readonly Gauge<int> BigCommerceBlockedDomains =
        Meter.CreateGauge<int>("perazzisync.bigcommerce.hooks.blocked_domains", description: "Destination domains of the product's hooks that BigCommerce blocks, as last checked");

    /// <summary><c>store/hook/deliveryException</c> callbacks, by BigCommerce's <c>error_code</c>.</summary>
    public static readonly Counter<long> BigCommerceDeliveryExceptions =
        Meter.CreateCounter<long>("perazzisync.bigcommerce.hooks.delivery_exceptions", description: "Delivery exceptions BigCommerce reported, by error code");

    /// <summary>
    /// Delivery exceptions dated earlier than BigCommerce's retries allow, whose reconciliation gap
    /// was made to begin at that bound instead (docs/subscriptions.md).
    /// </summary>
    public static readonly Counter<long> BigCommerceDeliveryExceptionsBounded =
        Meter.CreateCounter<long>("perazzisync.bigcommerce.hooks.delivery_exceptions.bounded",
            description: "Delivery exceptions dated before BigCommerce's retries could bring them, their gap bounded");

    /// <summary>
    /// Reconciliation gaps a subscription check opened from a date the store gave (a quiet hook's
    /// <c>updated_at</c>, a blocked domain's failure) earlier than it is believed, made to begin at
    /// that bound instead, by <c>source</c> (docs/subscriptions.md).
    /// </summary>
    public static readonly Counter<long> BigCommerceHookGapsBounded =
        Meter.CreateCounter<long>("perazzisync.bigcommerce.hooks.gaps.bounded",
            description: "Reconciliation gaps the store dated earlier than believed, bounded");
}
