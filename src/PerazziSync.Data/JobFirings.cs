using Dapper;
using Npgsql;

namespace PerazziSync.Data;

/// <summary>
/// Every worker runs the same Quartz schedule (cron, UTC), so every replica fires at the same
/// scheduled times; the first to claim a firing in PostgreSQL runs it, the others stand down.
/// </summary>
public static class JobFirings
{
    public static async Task<bool> ClaimAsync(NpgsqlDataSource database, string jobName, DateTimeOffset scheduledAt, CancellationToken cancellationToken)
    {
        const string sql = """
            insert into perazzi_sync.job_firings (job_name, scheduled_at, claimed_by)
            values (@JobName, @ScheduledAt, @ClaimedBy)
            on conflict do nothing
            """;
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(sql, new
        {
            JobName = jobName,
            ScheduledAt = scheduledAt.UtcDateTime,
            ClaimedBy = $"{Environment.MachineName}/{Environment.ProcessId}",
        }, cancellationToken: cancellationToken)) == 1;
    }
}
