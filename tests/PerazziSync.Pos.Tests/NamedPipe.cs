using System.Diagnostics;

namespace PerazziSync.Pos.Tests;

static class NamedPipe
{
    /// <summary>Makes a named pipe (FIFO) at <paramref name="path"/>, which .NET has no call for.</summary>
    public static async Task CreateAsync(string path)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var mkfifo = Process.Start("mkfifo", [path]);
        await mkfifo.WaitForExitAsync(timeout.Token);
        if (mkfifo.ExitCode != 0)
        {
            throw new InvalidOperationException($"mkfifo {path} exited {mkfifo.ExitCode}");
        }
    }
}
