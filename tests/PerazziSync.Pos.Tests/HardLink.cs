using System.Diagnostics;

namespace PerazziSync.Pos.Tests;

static class HardLink
{
    /// <summary>Makes <paramref name="link"/> a second name of <paramref name="existing"/>, which .NET has no call for.</summary>
    public static async Task CreateAsync(string existing, string link)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var ln = Process.Start("ln", [existing, link]);
        await ln.WaitForExitAsync(timeout.Token);
        if (ln.ExitCode != 0)
        {
            throw new InvalidOperationException($"ln {existing} {link} exited {ln.ExitCode}");
        }
    }
}
