using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Data;
using PerazziSync.Pos.Records;
using PerazziSync.Pos.Rows;
using PerazziSync.Worker.Sync;

namespace PerazziSync.Worker.Pos;

/// <summary>
/// The worker's one writer of POS callbacks: consumers hand over their record and wait; it takes
/// whatever is waiting (up to <see cref="PosOptions.CallbackGroupSize"/>, after at most
/// <see cref="PosOptions.CallbackGroupWait"/> for more) and writes it in one transaction
/// (<see cref="CallbackGroups"/>), while the next group gathers. Each consumer gets its own
/// record's outcome, or the fault that is its own: a record the database refuses fails alone, a
/// transient fault fails every message of the group as transient, and nothing is acknowledged
/// before the transaction that wrote it committed. The consume pipeline stays per message, so
/// retries, the database circuit and dead letters work as for any consumer.
/// </summary>
public sealed partial class PosCallbackCommitter : IAsyncDisposable
{
    /// <summary>
    /// Groups written at once: while one waits for its commit (a WAL flush) or a round trip,
    /// the other's statement runs. Two writers may hold versions of one record; the row lock and
    /// the version guard order them as they order any two writers.
    /// </summary>
    const int Writers = 2;

    readonly NpgsqlDataSource _database;
    readonly PosOptions _options;
    readonly TimeProvider _time;
    readonly ILogger<PosCallbackCommitter> _logger;
    readonly Channel<Waiting> _waiting = Channel.CreateUnbounded<Waiting>();
    readonly SemaphoreSlim _gathering = new(1);
    readonly Task _writing;

    public PosCallbackCommitter(
        IOptions<PortalDatabaseOptions> database,
        IOptions<PosOptions> options,
        TimeProvider time,
        ILogger<PosCallbackCommitter> logger)
    {
        _options = options.Value;
        _database = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database.Value.Postgres)
        {
            // A group keeps no state beyond its transaction (`set local`) but the staging table its
            // commit empties: the session reset (DISCARD ALL) a pooled connection gets on its way
            // back would cost a round trip, PostgreSQL's plan caches and that table on every group.
            NoResetOnClose = true,
            // How long a group waits for each answer and may sit idle in its transaction (CallbackGroups).
            CommandTimeout = (int)Math.Ceiling(_options.CallbackWriteTimeout.TotalSeconds),
        }.ConnectionString);
        _time = time;
        _logger = logger;
        // The loop belongs to no message: the first consumer's trace must not become every group's parent.
        using (ExecutionContext.SuppressFlow())
        {
            _writing = Task.WhenAll(Enumerable.Range(0, Writers).Select(_ => Task.Run(WriteGroupsAsync)));
        }
    }

    /// <summary>
    /// Writes <paramref name="callback"/> with whatever else is waiting and returns its outcome
    /// once its transaction committed; throws the fault that stopped its record. Cancelled, it
    /// stops waiting: a record already in a transaction may still be written, which its
    /// redelivery then finds unchanged.
    /// </summary>
    public async Task<CallbackWritten> WriteAsync(PosCallback callback, CancellationToken cancellationToken)
    {
        var waiting = new Waiting(callback, Activity.Current?.Context ?? default, cancellationToken);
        if (!_waiting.Writer.TryWrite(waiting))
        {
            throw new OperationCanceledException("The worker is stopping: the POS callback goes back to its queue");
        }
        return await waiting.Result.Task.WaitAsync(cancellationToken);
    }

    async Task WriteGroupsAsync()
    {
        var group = new List<Waiting>(_options.CallbackGroupSize);
        while (await GatherAsync(group))
        {
            await WriteAsync(group);
            group.Clear();
        }
    }

    /// <summary>
    /// Fills <paramref name="group"/> with what is waiting; false once the worker stops. One
    /// writer gathers at a time, the other writing meanwhile: two writers gathering side by side
    /// would split every group in two.
    /// </summary>
    async Task<bool> GatherAsync(List<Waiting> group)
    {
        var reader = _waiting.Reader;
        await _gathering.WaitAsync();
        try
        {
            if (!await reader.WaitToReadAsync())
            {
                return false;
            }
            Take(reader, group);
            if (group.Count < _options.CallbackGroupSize && _options.CallbackGroupWait > TimeSpan.Zero)
            {
                using var wait = new CancellationTokenSource(_options.CallbackGroupWait, _time);
                try
                {
                    while (group.Count < _options.CallbackGroupSize && await reader.WaitToReadAsync(wait.Token))
                    {
                        Take(reader, group);
                    }
                }
                catch (OperationCanceledException) when (wait.IsCancellationRequested)
                {
                    // Waited long enough: the group goes as it is.
                }
            }
            return true;
        }
        finally
        {
            _gathering.Release();
        }
    }

    void Take(ChannelReader<Waiting> reader, List<Waiting> group)
    {
        while (group.Count < _options.CallbackGroupSize && reader.TryRead(out var waiting))
        {
            // A consumer that gave up (the worker stopping) has its message back on the queue already.
            if (!waiting.CancellationToken.IsCancellationRequested)
            {
                group.Add(waiting);
            }
        }
    }

    async Task WriteAsync(List<Waiting> group)
    {
        if (group.Count == 0)
        {
            return;
        }
        using var activity = Telemetry.ActivitySource.StartActivity(
            "pos callbacks write", ActivityKind.Internal, default(ActivityContext),
            links: [.. group.Where(w => w.Consume != default).Select(w => new ActivityLink(w.Consume))]);
        activity?.SetTag("perazzisync.group.size", group.Count);
        var transactions = 0;
        var started = _time.GetTimestamp();
        await CallbackGroups.SettleAsync(
            group,
            async part =>
            {
                transactions++;
                return await CallbackGroups.WriteAsync(_database, [.. part.Select(w => w.Callback)], CancellationToken.None);
            },
            TransientFaults.Is,
            (waiting, written) => waiting.Result.TrySetResult(written),
            (waiting, fault) => waiting.Result.TrySetException(fault));
        GroupWritten(_logger, group.Count, transactions, _time.GetElapsedTime(started).TotalMilliseconds);
    }

    public async ValueTask DisposeAsync()
    {
        // By now the bus has stopped and no consumer waits; a group being written is finished.
        _waiting.Writer.TryComplete();
        await _writing;
        _gathering.Dispose();
        await _database.DisposeAsync();
    }

    sealed record Waiting(PosCallback Callback, ActivityContext Consume, CancellationToken CancellationToken)
    {
        public TaskCompletionSource<CallbackWritten> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(LogLevel.Debug, "{Callbacks} POS callbacks written in {Transactions} transaction(s), {Milliseconds:0.0} ms")]
    static partial void GroupWritten(ILogger logger, int callbacks, int transactions, double milliseconds);
}
