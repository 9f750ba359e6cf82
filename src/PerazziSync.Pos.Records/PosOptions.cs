using System.ComponentModel.DataAnnotations;

namespace PerazziSync.Pos.Records;

/// <summary>The <c>Pos</c> section.</summary>
public sealed class PosOptions
{
    public const string Section = "Pos";

    /// <summary>
    /// POS callbacks a worker takes from its queue at once (its consumers' limit and prefetch):
    /// room for the two groups being written and the next one gathering, with the callbacks
    /// still on their way from the broker.
    /// </summary>
    public const int CallbacksInFlight = 512;

    /// <summary>Standard Webhooks secret (base64) of the POS callbacks.</summary>
    public string? WebhookSecret { get; set; }

    /// <summary>Folder polled for batch exports; unset means no polling.</summary>
    public string? DropFolder { get; set; }

    /// <summary>IANA zone for POS times written without an offset.</summary>
    [Required]
    public string TimeZone { get; set; } = "Europe/Rome";

    /// <summary>Records per transaction of an import.</summary>
    [Range(1, 100_000)]
    public int ImportChunkSize { get; set; } = 5_000;

    /// <summary>
    /// The most POS callbacks the worker writes in one transaction; at most the
    /// <see cref="CallbacksInFlight"/> its endpoint takes at once.
    /// </summary>
    [Range(1, CallbacksInFlight)]
    public int CallbackGroupSize { get; set; } = 200;

    /// <summary>
    /// How long a group that is not full waits for more callbacks before it is written; zero
    /// writes whatever is waiting at once. The next group gathers while one is written. Under a
    /// backlog the broker sends the next callbacks one by one as a commit's acknowledgements reach
    /// it. In the apply benchmark, groups taken at once from 256 callbacks in flight averaged 55;
    /// gathered for 5 ms from 512, 130, and PostgreSQL spent about a quarter less CPU a callback.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:05")]
    public TimeSpan CallbackGroupWait { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// How long the worker's write of a group of POS callbacks waits for each answer of the
    /// database, and how long its session may sit idle inside the group's transaction before
    /// PostgreSQL ends it. A connection that stops answering mid-write (a half-open connection, a
    /// hung pooler) then fails the group as a transient fault, retried on another connection, and
    /// the rows its transaction locked are released, instead of the group's messages being held
    /// for ever.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan CallbackWriteTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a batch write of POS records (a chunk of an import, from the drop folder or the
    /// Cli; a batch of the re-match or of <c>parked retry</c>) waits for each answer of the
    /// database, and how long its session may sit idle inside the batch's transaction (an
    /// import's session, between its chunks too) before PostgreSQL ends it. A chunk of 5,000 records takes about a second. A connection that stops
    /// answering mid-write (a half-open connection, a hung pooler) then fails the batch as a
    /// transient fault, and the rows its transaction locked are released: the import resumes
    /// with the lines no committed chunk covers at the next poll or run, instead of waiting for ever.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan BatchWriteTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How far a record's <c>updated_at</c> may be ahead of the time it is received (a callback) or
    /// imported (an export line): the clock skew between the POS and this host allowed. A version
    /// further ahead (year 9999, a typo such as 2062) is refused, since stored it would make every
    /// later genuine version of its work order stale until that time.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00")]
    public TimeSpan UpdatedAtMaxAhead { get; set; } = TimeSpan.FromHours(1);

    /// <summary>A file in the drop folder is picked up once its size and time have not changed for this long.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan DropFolderSettleTime { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Quartz cron (UTC) of the drop-folder poll.</summary>
    [Required]
    public string DropFolderCron { get; set; } = "0/10 * * * * ?";

    /// <summary>
    /// Quartz cron (UTC) of the re-match of parked records against newly verified assets (and of
    /// their first weighing against a gun claimed after they were parked); every worker also
    /// counts verified assets and open review items for its metrics at each firing.
    /// </summary>
    [Required]
    public string RematchCron { get; set; } = "0 * * * * ?";

    public TimeZoneInfo Zone() => TimeZoneInfo.FindSystemTimeZoneById(TimeZone);
}

public static class PosTime
{
    public static bool IsKnownZone(string? zone)
    {
        try
        {
            return zone is not null && TimeZoneInfo.FindSystemTimeZoneById(zone) is not null;
        }
        catch (TimeZoneNotFoundException)
        {
            return false;
        }
    }
}
