using Dapper;
using Npgsql;
using PerazziSync.Contracts;
using Quartz;

namespace PerazziSync.Worker.Pos;

/// <summary>
/// Counts verified assets by method and the claims waiting for an operator's review, for the
/// asset gauges of <see cref="Telemetry"/>. Every worker counts at every firing of the re-match (no
/// firing is claimed), so each one's <c>/metrics</c> shows them, whichever Prometheus scrapes.
/// </summary>
[DisallowConcurrentExecution]
public sealed class AssetCountJob(NpgsqlDataSource database) : IJob
{
    public static readonly JobKey Key = new("asset-count");

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        const string sql = """
            select coalesce(verification_method, 'none') as "Method", count(*) as "Count"
            from perazzi_assets where verification_status = 'verified' group by 1;
            select count(*) from perazzi_sync.asset_claims where status = 'open';
            """;
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var results = await connection.QueryMultipleAsync(new CommandDefinition(sql, cancellationToken: cancellationToken));
        var verified = (await results.ReadAsync<(string Method, long Count)>()).ToDictionary(r => r.Method, r => r.Count);
        Telemetry.SetAssetCounts(verified, await results.ReadSingleAsync<long>());
    }
}
