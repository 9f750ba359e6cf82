using System.Net.Sockets;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using PerazziSync.Data;

namespace PerazziSync.Worker.Sync;

/// <summary>
/// The kill switch for database outages (docs/failures.md). The first consumer that finds
/// PostgreSQL unreachable opens the circuit: from then on no consumer touches the database.
/// Messages already taken wait at the gate, unacknowledged, and the endpoint takes no more than
/// its prefetch, so the rest stay in RabbitMQ. One probe checks the database with growing pauses
/// (1 s to 10 s) and closes the circuit when it answers. A long outage costs neither retries nor
/// dead letters. Only a failure to reach the database opens it: a statement that waited too long
/// for a lock, or was slow, is retried like any transient fault while the others carry on.
/// </summary>
public sealed partial class DatabaseCircuit(
    NpgsqlDataSource database,
    IOptions<PortalDatabaseOptions> connectionStrings,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<DatabaseCircuit> logger)
{
    static readonly TimeSpan FirstProbeDelay = TimeSpan.FromSeconds(1);
    static readonly TimeSpan LongestProbeDelay = TimeSpan.FromSeconds(10);

    readonly Lock _gate = new();
    TaskCompletionSource? _closed;
    Task<bool>? _answering;

    // A connection of its own, outside the pool: when statements time out because the pool is
    // exhausted or a lock is held, the question is whether the server answers at all.
    readonly Lazy<NpgsqlDataSource> _reachability = new(() => NpgsqlDataSource.Create(
        new NpgsqlConnectionStringBuilder(connectionStrings.Value.Postgres) { Pooling = false, Timeout = 5, CommandTimeout = 5 }));

    /// <summary>
    /// Completes at once while the database answers; otherwise when it answers again. Cancelled
    /// when the worker stops, so a waiting message goes back to its queue without delaying the stop.
    /// </summary>
    public async Task WaitClosedAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource? closed;
        lock (_gate)
        {
            closed = _closed;
        }
        if (closed is null)
        {
            return;
        }
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        await closed.Task.WaitAsync(stopping.Token);
    }

    /// <summary>
    /// Whether <paramref name="exception"/> says the database cannot be reached: the connection
    /// was refused, reset or lost, the server is shutting down or out of connections. A timeout
    /// alone does not say it (a statement waiting for a lock times out the same way as one whose
    /// server is gone), nor does the server ending a session that sat idle (its connection may
    /// have stalled, or the server itself), so then a fresh connection asks the server.
    /// </summary>
    public async Task<bool> IsOutageAsync(Exception exception, CancellationToken cancellationToken) =>
        IsConnectionFault(exception)
        || ((exception is NpgsqlException { InnerException: TimeoutException } || DatabaseFaults.IsIdleTimeout(exception)) && !await AnswersAsync(cancellationToken));

    static bool IsConnectionFault(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
            || postgres.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown
                or PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.TooManyConnections,
        NpgsqlException { InnerException: IOException or SocketException } => true,
        NpgsqlException { InnerException: NpgsqlException inner } => IsConnectionFault(inner),
        _ => false,
    };

    /// <summary>
    /// One question at a time: a group of POS callbacks that timed out fails all its messages at
    /// once, and each would otherwise open a connection of its own to ask the same thing.
    /// </summary>
    Task<bool> AnswersAsync(CancellationToken cancellationToken)
    {
        Task<bool> answering;
        lock (_gate)
        {
            if (_answering is not { IsCompleted: false })
            {
                _answering = AskAsync();
            }
            answering = _answering;
        }
        return answering.WaitAsync(cancellationToken);
    }

    /// <summary>Bounded by the connection's own 5 s timeouts, whoever stops waiting for it.</summary>
    async Task<bool> AskAsync()
    {
        try
        {
            await using var connection = await _reachability.Value.OpenConnectionAsync();
            await using var command = new NpgsqlCommand("select 1", connection);
            await command.ExecuteScalarAsync();
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException)
        {
            return false;
        }
    }

    /// <summary>A statement failed for a while without the database being out of reach: say so, once per message attempt.</summary>
    public void Waited(string messageType, Exception fault) => StatementWaited(logger, messageType, fault.Message);

    public void Open(Exception fault)
    {
        lock (_gate)
        {
            if (_closed is not null)
            {
                return;
            }
            _closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        Paused(logger, fault.Message);
        _ = ProbeUntilAnsweredAsync(lifetime.ApplicationStopping);
    }

    async Task ProbeUntilAnsweredAsync(CancellationToken cancellationToken)
    {
        var openedAt = time.GetTimestamp();
        var delay = FirstProbeDelay;
        while (true)
        {
            try
            {
                await Task.Delay(delay, time, cancellationToken);
                await using var connection = await database.OpenConnectionAsync(cancellationToken);
                await using var command = new NpgsqlCommand("select 1", connection);
                await command.ExecuteScalarAsync(cancellationToken);
                break;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopping: the waiting consumers are cancelled with the host and their messages
                // go back to the queue.
                return;
            }
            catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException)
            {
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, LongestProbeDelay.Ticks));
            }
        }
        TaskCompletionSource closed;
        lock (_gate)
        {
            closed = _closed!;
            _closed = null;
        }
        Resumed(logger, time.GetElapsedTime(openedAt).TotalSeconds);
        closed.SetResult();
    }

    [LoggerMessage(LogLevel.Warning, "PostgreSQL is unreachable ({Reason}): consumption paused until it answers")]
    static partial void Paused(ILogger logger, string reason);

    [LoggerMessage(LogLevel.Information, "PostgreSQL answers again: consumption resumed after {Seconds:0.0} s")]
    static partial void Resumed(ILogger logger, double seconds);

    [LoggerMessage(LogLevel.Information,
        "{MessageType} waited for PostgreSQL ({Reason}), which answers: a lock held by another writer or a slow statement; retried, nothing paused")]
    static partial void StatementWaited(ILogger logger, string messageType, string reason);
}

/// <summary>Holds each message at the <see cref="DatabaseCircuit"/> and opens it on a database outage.</summary>
sealed class DatabaseCircuitFilter(DatabaseCircuit circuit, string messageType) : IFilter<ConsumeContext>
{
    public async Task Send(ConsumeContext context, IPipe<ConsumeContext> next)
    {
        await circuit.WaitClosedAsync(context.CancellationToken);
        try
        {
            await next.Send(context);
        }
        catch (NpgsqlException e)
        {
            if (await circuit.IsOutageAsync(e, context.CancellationToken))
            {
                circuit.Open(e);
            }
            else if (e is { InnerException: TimeoutException } or PostgresException { SqlState: PostgresErrorCodes.LockNotAvailable })
            {
                circuit.Waited(messageType, e);
            }
            throw;
        }
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("databaseCircuit");
}
