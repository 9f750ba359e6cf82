using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace PerazziSync.Data;

/// <summary>
/// Serialises the work on one source entity across every worker replica, with a PostgreSQL
/// advisory lock held on the connection that then applies the change. The lock is taken outside
/// any transaction because the fetch from the source runs under it, and a transaction left open
/// for the length of an HTTP call (or a wait for the rate budget) is what databases time out.
/// The holder may wait minutes for the BigCommerce budget, so a waiter waits as long, without a
/// command timeout (a timed-out wait would look like a database outage), saying so in the log.
/// </summary>
public sealed partial class EntityLock : IAsyncDisposable
{
    readonly NpgsqlConnection _connection;
    readonly string _key;

    EntityLock(NpgsqlConnection connection, string key)
    {
        _connection = connection;
        _key = key;
    }

    public NpgsqlConnection Connection => _connection;

    public static async Task<EntityLock> AcquireAsync(
        NpgsqlDataSource database, string key, ILogger logger, CancellationToken cancellationToken)
    {
        var connection = await database.OpenConnectionAsync(cancellationToken);
        try
        {
            if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "select pg_try_advisory_lock(hashtextextended(@Key, 0))", new { Key = key }, cancellationToken: cancellationToken)))
            {
                await WaitAsync(connection, key, logger, cancellationToken);
            }
            return new EntityLock(connection, key);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    static readonly TimeSpan WaitReport = TimeSpan.FromSeconds(30);

    static async Task WaitAsync(NpgsqlConnection connection, string key, ILogger logger, CancellationToken cancellationToken)
    {
        Waiting(logger, key);
        var waiting = connection.ExecuteAsync(new CommandDefinition(
            "select pg_advisory_lock(hashtextextended(@Key, 0))", new { Key = key }, commandTimeout: 0, cancellationToken: cancellationToken));
        var waited = TimeSpan.Zero;
        while (await Task.WhenAny(waiting, Task.Delay(WaitReport, cancellationToken)) != waiting)
        {
            waited += WaitReport;
            StillWaiting(logger, key, waited.TotalSeconds);
        }
        await waiting;
    }

    [LoggerMessage(LogLevel.Information, "Waiting for {Key}: another worker is applying it (its fetch may be waiting for the BigCommerce budget)")]
    static partial void Waiting(ILogger logger, string key);

    [LoggerMessage(LogLevel.Information, "Still waiting for {Key} after {Seconds:0} s")]
    static partial void StillWaiting(ILogger logger, string key, double seconds);

    /// <summary>A transaction as the service role (<see cref="ServiceRole"/>) on the locked connection.</summary>
    public Task<NpgsqlTransaction> BeginAsServiceRoleAsync(AuditContext context, CancellationToken cancellationToken) =>
        ServiceRole.BeginAsync(_connection, context, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_connection.State == System.Data.ConnectionState.Open)
            {
                // A pooled connection keeps session locks after Close, so release it explicitly.
                await _connection.ExecuteAsync("select pg_advisory_unlock(hashtextextended(@Key, 0))", new { Key = _key });
            }
        }
        catch (NpgsqlException)
        {
            // The connection broke; the server released the lock with the session.
        }
        finally
        {
            await _connection.DisposeAsync();
        }
    }
}
