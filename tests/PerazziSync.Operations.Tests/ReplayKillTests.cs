using Dapper;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Operations.Tests;

/// <summary>A replay killed part-way loses nothing; running it again finishes the job.</summary>
public sealed class ReplayKillTests : IAsyncLifetime
{
    const string Input = "pos-service-record-received";
    const string ErrorQueue = Input + "_error";
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
        await _broker.DeadLetterAsync(ErrorQueue, letters);
        var cli = new Cli(_database.ConnectionString, _broker.AmqpUri);

        await using (var replay = cli.Start("dlq", "replay"))
        {
            var moved = await ProductUnderTest.EventuallyAsync(() => _broker.MessageCountAsync(Input), n => n >= 2_000, TimeSpan.FromSeconds(60));
            Assert.True(moved >= 2_000 && !replay.HasExited, replay.Output);
        } // killed here, as kill -9 would

        var inInput = (await _broker.DrainAsync(Input)).Select(m => m.MessageId).ToList();
        var inError = await _broker.MessageCountAsync(ErrorQueue);
        Assert.InRange(inInput.Count, 2_000, Messages - 1);
        Assert.True(inError > 0, "the replay finished before it was killed");
        // Every message is somewhere: replayed, still dead-lettered, or (at worst) both.
        Assert.True(inInput.Count + inError >= Messages, $"{inInput.Count} replayed + {inError} left < {Messages}");

        var again = await cli.RunAsync("dlq", "replay");
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Equal(0u, await _broker.MessageCountAsync(ErrorQueue));
        var all = inInput.Concat((await _broker.DrainAsync(Input)).Select(m => m.MessageId)).OfType<string>().ToHashSet();
        Assert.Equal(letters.Select(l => l.MessageId.ToString()).ToHashSet(), all);
        await using var connection = await _database.OpenAsync();
        Assert.Equal(Messages, await connection.ExecuteScalarAsync<long>(
            "select count(distinct object_id) from audit_log where action = 'dlq.replay'"));
    }
}
