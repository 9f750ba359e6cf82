using PerazziSync.Worker.Sync;
using Xunit;

namespace PerazziSync.Rules.Tests;

/// <summary>When a sync queue counts as stalled in the worker's readiness: attempts under way, none ended for long.</summary>
public sealed class ConsumeProgressTests
{
    static readonly TimeSpan After = TimeSpan.FromMinutes(10);

    /// <summary>A clock that moves only when told.</summary>
    sealed class Clock : TimeProvider
    {
        long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }

    [Fact]
    public void A_queue_is_stalled_once_its_attempts_under_way_have_ended_none_for_longer_than_the_limit()
    {
        var clock = new Clock();
        var progress = new ConsumeProgress(clock);

        progress.Started("pos");
        progress.Started("pos");
        clock.Advance(After);
        Assert.Empty(progress.Stalled(After));

        clock.Advance(TimeSpan.FromSeconds(1));
        var stall = Assert.Single(progress.Stalled(After));
        Assert.Equal(("pos", 2, After + TimeSpan.FromSeconds(1)), (stall.Queue, stall.UnderWay, stall.For));

        // One attempt ending is progress: the other has the full limit again.
        progress.Ended("pos");
        Assert.Empty(progress.Stalled(After));
        clock.Advance(After + TimeSpan.FromSeconds(1));
        Assert.Equal(1, Assert.Single(progress.Stalled(After)).UnderWay);
    }

    [Fact]
    public void An_idle_queue_is_never_stalled_and_its_next_attempt_starts_the_clock_afresh()
    {
        var clock = new Clock();
        var progress = new ConsumeProgress(clock);
        progress.Started("orders");
        progress.Ended("orders");

        clock.Advance(TimeSpan.FromHours(2));
        Assert.Empty(progress.Stalled(After));

        progress.Started("orders");
        progress.Started("customers");
        clock.Advance(TimeSpan.FromMinutes(5));
        progress.Ended("customers");
        clock.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal(["orders"], progress.Stalled(After).Select(s => s.Queue));
    }
}
