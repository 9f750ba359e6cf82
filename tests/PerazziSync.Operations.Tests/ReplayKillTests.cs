using Dapper;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;
using Xunit.Abstractions;

namespace PerazziSync.Operations.Tests;

/// <summary>A replay killed part-way loses nothing; running it again finishes the job.</summary>
public sealed class ReplayKillTests(ITestOutputHelper output) : IAsyncLifetime
{
    const string Input = Queues.PosServiceRecordReceived;
    const string ErrorQueue = Input + Queues.ErrorSuffix;
    const int Messages = 10_000;

    TestDatabase _database = null!;
    TestVirtualHost _broker = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateMigratedAsync();
        _broker = await TestVirtualHost.CreateAsync();
        await _broker.DeclareQueueAsync(Input);
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Killing_the_cli_mid_replay_of_10000_messages_loses_none()
    {
        var at = DateTimeOffset.UtcNow;
        var letters = Enumerable.Range(0, Messages)
            .Select(i => DeadLetter.Pos($"WO-K-{i:D5}", "System.FormatException", "bad", at))
            .ToList();
        var all = letters.Select(l => l.MessageId.ToString()).ToHashSet();
        await _broker.DeadLetterAsync(ErrorQueue, letters);
        var cli = new Cli(_database.ConnectionString, _broker.AmqpUri);

        await using (var replay = cli.Start("dlq", "replay"))
        {
            await ProductUnderTest.EventuallyAsync(
                "2,000 messages replayed", () => _broker.MessagesAsync(Input), n => n >= 2_000 || replay.HasExited, TimeSpan.FromSeconds(60), () => replay.Output);
            Assert.False(replay.HasExited, "the replay finished before it was killed:\n" + replay.Output);
        } // killed here, as kill -9 would
        await ProductUnderTest.EventuallyAsync(
            "the broker to take back what the killed replay held", _broker.OtherConnectionsAsync, n => n == 0, TimeSpan.FromSeconds(30));

        var inInput = (await _broker.DrainAsync(Input)).Select(m => m.MessageId!).ToList();
        var left = (await _broker.BrowseAsync(ErrorQueue)).Select(id => id!).ToHashSet();
        var auditedByFirst = await ReplayAuditAsync();
        Assert.InRange(inInput.Count, 2_000, Messages - 1);
        Assert.NotEmpty(left);
        // Every message is somewhere: replayed, still dead-lettered, or (killed between the two) both.
        Assert.Equal(all, inInput.Concat(left).ToHashSet());
        // A message leaves the dead-letter queue only after its replay was confirmed and audited,
        // once; an audit row is written only for a replay the broker confirmed.
        Assert.Equal(all.Except(left).Order(), auditedByFirst.Where(id => !left.Contains(id)).Order());
        Assert.Equal(auditedByFirst.Count, auditedByFirst.Distinct().Count());
        Assert.Subset(inInput.ToHashSet(), auditedByFirst.ToHashSet());

        var again = await cli.RunAsync("dlq", "replay");
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Equal(0u, await _broker.MessagesAsync(ErrorQueue));
        // The second run replays exactly what the first left, each once, with one audit row each.
        var replayedAgain = (await _broker.DrainAsync(Input)).Select(m => m.MessageId!).ToList();
        Assert.Equal(left.Order(), replayedAgain.Order());
        var first = auditedByFirst.ToHashSet();
        var auditedBySecond = (await ReplayAuditAsync()).GroupBy(id => id)
            .SelectMany(rows => Enumerable.Repeat(rows.Key, rows.Count() - (first.Contains(rows.Key) ? 1 : 0)))
            .ToList();
        Assert.Equal(left.Order(), auditedBySecond.Order());
        output.WriteLine($"killed after {inInput.Count} of {Messages} replayed; {left.Count} left, replayed by the second run; " +
            $"{auditedByFirst.Count(left.Contains)} audited by the first run although the kill came before their acknowledgement");
    }

    /// <summary>The message id of every <c>dlq.replay</c> audit row.</summary>
    async Task<List<string>> ReplayAuditAsync()
    {
        await using var connection = await _database.OpenAsync();
        return (await connection.QueryAsync<string>("select object_id from audit_log where action = 'dlq.replay'")).AsList();
    }
}
