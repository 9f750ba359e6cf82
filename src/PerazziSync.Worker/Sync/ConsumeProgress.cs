using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using MassTransit;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace PerazziSync.Worker.Sync;

/// <summary>The <c>Health</c> section.</summary>
public sealed class HealthOptions
{
    public const string Section = "Health";

    /// <summary>
    /// How long a sync queue's consumers may all be at work on their messages with none of them
    /// finishing an attempt before <c>/health/ready</c> reports the queue stalled.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan StalledAfter { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>
/// What each sync queue's consumers are doing: how many attempts are under way, and since when
/// none has ended (finished, failed, or handed back to a retry). A queue whose attempts are all
/// under way and none ended for long is stuck in its consumers, which neither the broker's nor the
/// database's check can see: the broker still delivers, the database still answers a new
/// connection, and the queue fills.
/// </summary>
public sealed class ConsumeProgress(TimeProvider time)
{
    readonly ConcurrentDictionary<string, QueueState> _queues = new(StringComparer.Ordinal);

    public void Started(string queue)
    {
        var state = _queues.GetOrAdd(queue, _ => new QueueState());
        lock (state)
        {
            // An idle queue's clock starts with its first attempt.
            if (state.UnderWay++ == 0)
            {
                state.Since = time.GetTimestamp();
            }
        }
    }

    public void Ended(string queue)
    {
        var state = _queues[queue];
        lock (state)
        {
            state.UnderWay--;
            state.Since = time.GetTimestamp();
        }
    }

    /// <summary>The queues with attempts under way and none ended for longer than <paramref name="after"/>.</summary>
    public IReadOnlyList<Stall> Stalled(TimeSpan after)
    {
        var stalled = new List<Stall>();
        foreach (var (name, state) in _queues)
        {
            lock (state)
            {
                var idle = time.GetElapsedTime(state.Since);
                if (state.UnderWay > 0 && idle > after)
                {
                    stalled.Add(new Stall(name, state.UnderWay, idle));
                }
            }
        }
        return [.. stalled.OrderBy(s => s.Queue, StringComparer.Ordinal)];
    }

    public sealed record Stall(string Queue, int UnderWay, TimeSpan For);

    sealed class QueueState
    {
        public int UnderWay;
        public long Since;
    }
}

/// <summary>Counts each attempt of a sync consumer on its queue into <see cref="ConsumeProgress"/>.</summary>
sealed class ConsumeProgressFilter(ConsumeProgress progress, string queue) : IFilter<ConsumeContext>
{
    public async Task Send(ConsumeContext context, IPipe<ConsumeContext> next)
    {
        progress.Started(queue);
        try
        {
            await next.Send(context);
        }
        finally
        {
            progress.Ended(queue);
        }
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("consumeProgress");
}

/// <summary>
/// Unhealthy while a sync queue is stalled (<see cref="ConsumeProgress"/>): its messages are
/// neither applied nor handed back while more arrive; restarting the worker hands them back.
/// </summary>
sealed class StalledConsumersCheck(ConsumeProgress progress, IOptions<HealthOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var after = options.Value.StalledAfter;
        var stalled = progress.Stalled(after);
        if (stalled.Count == 0)
        {
            return Task.FromResult(HealthCheckResult.Healthy($"every sync queue's consumers finish their work (Health:StalledAfter {after:c})"));
        }
        var data = stalled.ToDictionary(s => s.Queue, s => (object)$"{s.UnderWay} message(s) under way, none done for {s.For.TotalSeconds:0} s");
        return Task.FromResult(HealthCheckResult.Unhealthy(
            $"stalled: {string.Join(", ", stalled.Select(s => s.Queue))}: their consumers finished nothing for longer than Health:StalledAfter ({after:c})",
            data: data));
    }
}
