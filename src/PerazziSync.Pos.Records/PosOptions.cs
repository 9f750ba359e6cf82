using System.ComponentModel.DataAnnotations;

namespace PerazziSync.Pos.Records;

/// <summary>The <c>Pos</c> section.</summary>
public sealed class PosOptions
{
    public const string Section = "Pos";

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
