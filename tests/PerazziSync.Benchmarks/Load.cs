using System.Diagnostics;

namespace PerazziSync.Benchmarks;

/// <summary>What one load phase measured.</summary>
sealed record PhaseResult(string Name, int Succeeded, int Failed, TimeSpan Elapsed, Latencies Latencies)
{
    public double PerSecond => Succeeded / Elapsed.TotalSeconds;
}

static class Load
{
    /// <summary><paramref name="concurrency"/> loops, each starting its next operation when the last one finished.</summary>
    public static async Task<PhaseResult> ClosedLoopAsync(string name, int concurrency, TimeSpan duration, Func<long, Task<bool>> operation)
    {
        var latencies = new Latencies();
        long sequence = 0;
        var succeeded = 0;
        var failed = 0;
        var clock = Stopwatch.StartNew();
        var loops = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (clock.Elapsed < duration)
            {
                var started = clock.Elapsed;
                var ok = await Attempt(operation, Interlocked.Increment(ref sequence));
                latencies.Add(clock.Elapsed - started);
                Interlocked.Increment(ref ok ? ref succeeded : ref failed);
            }
        });
        await Task.WhenAll(loops);
        return new PhaseResult(name, succeeded, failed, clock.Elapsed, latencies);
    }

    /// <summary>
    /// Operations started at a fixed rate whatever the answers, latency counted from when each
    /// was due: a slow answer cannot hide the requests queued behind it.
    /// </summary>
    public static async Task<PhaseResult> OpenLoopAsync(string name, int perSecond, TimeSpan duration, Func<long, Task<bool>> operation)
    {
        var latencies = new Latencies();
        var succeeded = 0;
        var failed = 0;
        var total = (long)(perSecond * duration.TotalSeconds);
        var running = new List<Task>((int)total);
        var clock = Stopwatch.StartNew();
        for (long started = 0; started < total;)
        {
            var due = Math.Min(total, (long)(clock.Elapsed.TotalSeconds * perSecond) + 1);
            for (; started < due; started++)
            {
                var dueAt = TimeSpan.FromSeconds(started / (double)perSecond);
                var sequence = started;
                running.Add(Task.Run(async () =>
                {
                    var ok = await Attempt(operation, sequence);
                    latencies.Add(clock.Elapsed - dueAt);
                    Interlocked.Increment(ref ok ? ref succeeded : ref failed);
                }));
            }
            await Task.Delay(1);
        }
        await Task.WhenAll(running);
        return new PhaseResult(name, succeeded, failed, clock.Elapsed, latencies);
    }

    static async Task<bool> Attempt(Func<long, Task<bool>> operation, long sequence)
    {
        try
        {
            return await operation(sequence);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or TimeoutException)
        {
            return false;
        }
    }
}
