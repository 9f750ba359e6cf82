using Dapper;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;
using Xunit.Abstractions;

namespace PerazziSync.Operations.Tests;

/// <summary>
/// A replay killed part-way loses nothing; running it again finishes the job. One interrupted
/// (SIGTERM, Ctrl+C) writes the audit rows of what it sent before it exits.
/// </summary>
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

    [Fact]
    public async Task A_replay_interrupted_while_its_audit_rows_wait_writes_them_for_every_message_it_sent()
    {
        var at = DateTimeOffset.UtcNow;
        var letters = Enumerable.Range(0, 500)
            .Select(i => DeadLetter.Pos($"WO-I-{i:D3}", "System.FormatException", "bad", at))
            .ToList();
        await _broker.DeadLetterAsync(ErrorQueue, letters);
        var cli = new Cli(_database.ConnectionString, _broker.AmqpUri);
        // The first batch's audit rows wait for this lock, after the broker has confirmed the batch.
        await using var holder = await _database.OpenAsSuperuserAsync();
        await using var hold = await holder.BeginTransactionAsync();
        await holder.ExecuteAsync("lock table audit_log in share mode", transaction: hold);

        await using var replay = cli.Start("dlq", "replay");
        await ProductUnderTest.EventuallyAsync(
            "the first batch replayed and its audit rows waiting for the lock",
            async () => (Replayed: await _broker.MessagesAsync(Input), Waiting: await AuditRowsWaitAsync()),
            s => (s.Replayed == 200 && s.Waiting) || replay.HasExited, TimeSpan.FromSeconds(60), () => replay.Output);
        Assert.False(replay.HasExited, "the replay ended before it was interrupted:\n" + replay.Output);
        var stopping = replay.StopAsync(TimeSpan.FromSeconds(30));
        // The lock goes once the signal has surely been handled, well within the 10 s the Cli has
        // to record what it did.
        await Task.Delay(TimeSpan.FromSeconds(2));
        await hold.RollbackAsync();
        var exitCode = await stopping;

        Assert.True(exitCode == 1, $"exit code {exitCode}:\n{replay.Output}");
        var inInput = (await _broker.DrainAsync(Input)).Select(m => m.MessageId!).ToList();
        Assert.Equal(200, inInput.Count);
        Assert.Equal(inInput.Order(), (await ReplayAuditAsync()).Order());
        var left = (await _broker.BrowseAsync(ErrorQueue)).Select(id => id!).ToList();
        Assert.Equal(letters.Select(l => l.MessageId.ToString()).Except(inInput), left);
        Assert.Contains("Interrupted: 200 message(s) replayed", replay.Output, StringComparison.Ordinal);
    }

    /// <summary>Whether a session of the test's database waits for a lock to insert into audit_log.</summary>
    async Task<bool> AuditRowsWaitAsync()
    {
        await using var connection = await _database.OpenAsSuperuserAsync();
        return await connection.ExecuteScalarAsync<bool>("""
            select exists (select from pg_stat_activity
                           where datname = current_database() and wait_event_type = 'Lock' and query like '%insert into audit_log%')
            """);
    }

    /// <summary>The message id of every <c>dlq.replay</c> audit row.</summary>
    async Task<List<string>> ReplayAuditAsync()
    {
        await using var connection = await _database.OpenAsync();
        return (await connection.QueryAsync<string>("select object_id from audit_log where action = 'dlq.replay'")).AsList();
    }
}
