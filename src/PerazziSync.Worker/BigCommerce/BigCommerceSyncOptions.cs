using System.ComponentModel.DataAnnotations;

namespace PerazziSync.Worker.BigCommerce;

/// <summary>The worker's half of the <c>BigCommerce</c> section: how callbacks are coalesced and reconciled.</summary>
public sealed class BigCommerceSyncOptions
{
    public const string Section = "BigCommerce";

    /// <summary>
    /// How long after a callback was received its fetch may start at the earliest. BigCommerce
    /// fires bursts (order/updated with order/statusUpdated, retries); waiting a moment lets one
    /// fetch cover the whole burst.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan CoalesceDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How far the receivers' and workers' clocks may disagree. A callback skips its fetch only
    /// when a fetch started more than this after the callback was received.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How long a round of order fetches waits, once a callback awaits one, for others to join it
    /// (docs/sync-rules.md). Rounds follow one another, so under load they fill without it; it
    /// is for the quiet store whose bursts are spread by a few hundred milliseconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan FetchGather { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The least time between the starts of two rounds of one worker. A quiet store never waits
    /// for it; a busy one gets at most a round (a listing, and the new customers' request) per
    /// interval, each carrying every order that changed meanwhile, instead of a round every few
    /// hundred milliseconds spending the quota the store's other apps share.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan RoundInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How far before its earliest callback a round lists orders by modification time. Orders it
    /// misses (a sender's late retry, a store clock behind) are fetched one by one, so this only
    /// trades requests against listing orders nobody waits for.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan ListLookback { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Order callbacks one worker holds at once. Most of them wait for a round of fetches, not for
    /// a connection, so the more it holds, the more orders a request carries in a burst.
    /// </summary>
    [Range(1, 1000)]
    public int OrderConcurrency { get; set; } = 256;

    /// <summary>Orders one worker applies at once, each on a database connection of its own.</summary>
    [Range(1, 100)]
    public int ApplyConcurrency { get; set; } = 16;

    /// <summary>Quartz cron expression of the reconciliation; the same in every worker, so replicas agree on firings.</summary>
    [Required]
    public string ReconcileCron { get; set; } = "0 0/10 * * * ?";

    /// <summary>How far before the watermark each reconciliation starts listing, for late writes upstream.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan ReconcileOverlap { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Quartz cron expression (UTC) of the re-attempt of parked BigCommerce events.</summary>
    [Required]
    public string ParkedRetryCron { get; set; } = "0 0/5 * * * ?";

    /// <summary>The wait before a parked event's first re-attempt; it doubles with each attempt, up to a day.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan ParkedRetryBackoff { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Quartz cron expression (UTC) of the check of the store's subscriptions: deactivated hooks
    /// re-activated, their state in health and metrics. A worker checks as it starts, and a delivery
    /// exception at once, too.
    /// </summary>
    [Required]
    public string HooksCheckCron { get; set; } = "0 0 * * * ?";

    /// <summary>
    /// How soon a worker's check of the subscriptions at start that failed (BigCommerce or the
    /// database away) is tried again, until one has been made: the scheduled check may be an hour
    /// off, while health says nothing was checked.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan HooksCheckRetryAtStart { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How far back the first reconciliation of a store looks.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "365.00:00:00")]
    public TimeSpan ReconcileFirstLookback { get; set; } = TimeSpan.FromDays(1);
}
