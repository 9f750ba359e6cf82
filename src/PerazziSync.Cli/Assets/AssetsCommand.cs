using System.CommandLine;

namespace PerazziSync.Cli.Assets;

/// <summary>
/// <c>assets review | verify | reject</c>: the claims on guns that their POS records could not
/// verify, and an operator's decision on them (<c>dealer_review</c>); the verbs, one file each.
/// </summary>
static partial class AssetsCommand
{
    public static Command Create()
    {
        var assets = new Command("assets",
            "Claimed guns: review the claims their POS records did not verify, and verify or reject them (docs/sync-rules.md).");
        assets.Subcommands.Add(Review());
        assets.Subcommands.Add(Verify());
        assets.Subcommands.Add(Reject());
        return assets;
    }
}
