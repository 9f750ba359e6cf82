using System.CommandLine;

namespace PerazziSync.Cli.Assets;

/// <summary>
/// <c>assets review | verify | reject | release</c>: the claims on guns that their POS records could
/// not verify, an operator's decision on them (<c>dealer_review</c>), and a claim deleted so that
/// its serial can be claimed again; the verbs, one file each (decisions together).
/// </summary>
static partial class AssetsCommand
{
    public static Command Create()
    {
        var assets = new Command("assets",
            "Claimed guns: review the claims their POS records did not verify, verify or reject them, " +
            "or release a claim that holds someone else's serial (docs/sync-rules.md).");
        assets.Subcommands.Add(Review());
        assets.Subcommands.Add(Verify());
        assets.Subcommands.Add(Reject());
        assets.Subcommands.Add(Release());
        return assets;
    }

    /// <summary>The delivery id of one run of a verb in its audit rows, e.g. <c>assets-verify:20261127T120000Z:alice</c>.</summary>
    static string RunId(string verb) => $"assets-{verb}:{DateTimeOffset.UtcNow:yyyyMMdd'T'HHmmss'Z'}:{Environment.UserName}";

    /// <summary>Says that no asset has <paramref name="serial"/> (as stored: trimmed, upper case); the verb's exit code.</summary>
    static int NoSuchSerial(TextWriter error, string serial)
    {
        error.WriteLine($"No asset has the serial {serial.Trim().ToUpperInvariant()}.");
        return 1;
    }
}
