using System.Diagnostics;
using System.Globalization;

namespace PerazziSync.Benchmarks;

/// <summary>The run cannot report: a wait timed out or a step did not do its work.</summary>
sealed class BenchmarkFailedException(string message) : Exception(message);

/// <summary>Progress on stderr, each line with the time since the program started.</summary>
static class Log
{
    static readonly Stopwatch Clock = Stopwatch.StartNew();

    public static TimeSpan Elapsed => Clock.Elapsed;

    public static void Step(string message) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[bench {(int)Clock.Elapsed.TotalMinutes:00}:{Clock.Elapsed.Seconds:00}] {message}"));
}

static class Wait
{
    static readonly TimeSpan DefaultPoll = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Polls <paramref name="read"/> until it reaches <paramref name="target"/>. A count that stops
    /// moving for <paramref name="stalled"/> fails the run, saying what it waited for and how far
    /// it got; so does one that overshoots, which means the work was not what was measured.
    /// Every 200 ms unless <paramref name="poll"/> says otherwise.
    /// </summary>
    public static async Task ForCountAsync(string what, Func<Task<long>> read, long target, TimeSpan stalled, TimeSpan? poll = null)
    {
        var clock = Stopwatch.StartNew();
        var last = long.MinValue;
        var movedAt = TimeSpan.Zero;
        while (true)
        {
            var count = await read();
            if (count == target)
            {
                return;
            }
            if (count > target)
            {
                throw new BenchmarkFailedException($"waited for {what}: expected {target:N0}, found {count:N0}");
            }
            if (count != last)
            {
                last = count;
                movedAt = clock.Elapsed;
            }
            else if (clock.Elapsed - movedAt > stalled)
            {
                throw new BenchmarkFailedException(
                    $"waited for {what}: {count:N0} of {target:N0} after {clock.Elapsed.TotalSeconds:N0} s, none more for {stalled.TotalSeconds:N0} s");
            }
            await Task.Delay(poll ?? DefaultPoll);
        }
    }
}
