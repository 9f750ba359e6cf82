using MassTransit;
using Npgsql;

namespace PerazziSync.Worker.Sync;

/// <summary>
/// The kill switch of SPEC section 7. The first consumer that finds PostgreSQL unreachable opens
/// the circuit: from then on no consumer touches the database. Messages already taken wait at
/// the gate, unacknowledged, and the endpoint takes no more than its prefetch, so the rest stay
/// in RabbitMQ. One probe checks the database with growing pauses (1 s to 10 s) and closes the
/// circuit when it answers. A long outage costs neither retries nor dead letters.
/// </summary>
public sealed partial class DatabaseCircuit(
    NpgsqlDataSource database, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<DatabaseCircuit> logger)
{
    static readonly TimeSpan FirstProbeDelay = TimeSpan.FromSeconds(1);
    static readonly TimeSpan LongestProbeDelay = TimeSpan.FromSeconds(10);

    readonly Lock _gate = new();
    TaskCompletionSource? _closed;

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
    /// Whether <paramref name="exception"/> says the database cannot be reached (connection
    /// refused or reset, timeout, server shutting down or out of connections), rather than that
    /// one statement failed.
    /// </summary>
    public static bool IsOutage(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
            || postgres.SqlState.StartsWith("57P", StringComparison.Ordinal)
            || postgres.SqlState == PostgresErrorCodes.TooManyConnections,
        NpgsqlException npgsql => npgsql.IsTransient,
        _ => false,
    };

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
            catch (Exception e) when (IsOutage(e))
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
}

/// <summary>Holds each message at the <see cref="DatabaseCircuit"/> and opens it on a database outage.</summary>
sealed class DatabaseCircuitFilter(DatabaseCircuit circuit) : IFilter<ConsumeContext>
{
    public async Task Send(ConsumeContext context, IPipe<ConsumeContext> next)
    {
        await circuit.WaitClosedAsync(context.CancellationToken);
        try
        {
            await next.Send(context);
        }
        catch (Exception e) when (DatabaseCircuit.IsOutage(e))
        {
            circuit.Open(e);
            throw;
        }
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("databaseCircuit");
}
