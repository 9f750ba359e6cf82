using Dapper;
using Npgsql;
using PerazziSync.BigCommerce.Hooks;

namespace PerazziSync.BigCommerce.Rows;

/// <summary>The store's subscriptions as the product keeps them: the destination it subscribed and the last check's report.</summary>
public static class HookRows
{
    /// <param name="Destination">What <c>hooks ensure</c> last subscribed the store to.</param>
    /// <param name="CheckStartedAt">When the last check began reading the store's hooks.</param>
    public sealed record Stored(string? Destination, DateTimeOffset? CheckStartedAt, HookReport? Report);

    public static async Task<Stored> ReadAsync(NpgsqlConnection connection, string store, CancellationToken cancellationToken)
    {
        const string sql = """
            select destination, check_started_at, report::text
            from perazzi_sync.bigcommerce_hook_checks where store_hash = @Store
            """;
        var row = await connection.QueryFirstOrDefaultAsync<(string? Destination, DateTime? StartedAt, string? Report)>(
            new CommandDefinition(sql, new { Store = store }, cancellationToken: cancellationToken));
        return new Stored(
            row.Destination,
            row.StartedAt is { } started ? new DateTimeOffset(DateTime.SpecifyKind(started, DateTimeKind.Utc)) : null,
            row.Report is { } json ? HookReport.FromJson(json) : null);
    }

    public static Task RecordDestinationAsync(NpgsqlConnection connection, string store, Uri destination, CancellationToken cancellationToken)
    {
        const string sql = """
            insert into perazzi_sync.bigcommerce_hook_checks as c (store_hash, destination) values (@Store, @Destination)
            on conflict (store_hash) do update set destination = excluded.destination
            where c.destination is distinct from excluded.destination
            """;
        return connection.ExecuteAsync(new CommandDefinition(
            sql, new { Store = store, Destination = destination.AbsoluteUri }, cancellationToken: cancellationToken));
    }

    /// <summary>Stores the report of a check that began reading at <paramref name="startedAt"/>, with the gaps it found, in one transaction.</summary>
    public static async Task SaveAsync(
        NpgsqlConnection connection, string store, DateTimeOffset startedAt, HookReport report, IReadOnlyList<ReconcileGap> gaps,
        CancellationToken cancellationToken)
    {
        const string save = """
            insert into perazzi_sync.bigcommerce_hook_checks as c (store_hash, check_started_at, checked_at, report)
            values (@Store, @StartedAt, @CheckedAt, @Report::jsonb)
            on conflict (store_hash) do update set
              check_started_at = excluded.check_started_at, checked_at = excluded.checked_at, report = excluded.report
            """;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(save, new
        {
            Store = store,
            StartedAt = startedAt.UtcDateTime,
            CheckedAt = report.CheckedAt.UtcDateTime,
            Report = report.ToJson(),
        }, transaction, cancellationToken: cancellationToken));
        await ReconcileGaps.OpenAsync(transaction, store, gaps, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }
}

/// <summary>
/// Changes a quiet subscription did not announce. The reconciliation lists each entity type from
/// its open gap (if earlier than its watermark allows) and closes the gap once a listing that
/// began after the gap's end is on the broker.
/// </summary>
public static class ReconcileGaps
{
    /// <summary>Opens or widens the gaps: each entity type keeps its earliest start and its latest end.</summary>
    public static Task OpenAsync(NpgsqlTransaction transaction, string store, IReadOnlyList<ReconcileGap> gaps, CancellationToken cancellationToken)
    {
        const string sql = """
            insert into perazzi_sync.reconcile_gaps as g (store_hash, entity_type, since, until)
            select @Store, t, s, u from unnest(@Types, @Sinces, @Untils) as x(t, s, u)
            on conflict (store_hash, entity_type) do update set
              since = least(g.since, excluded.since), until = greatest(g.until, excluded.until)
            """;
        return gaps.Count == 0
            ? Task.CompletedTask
            : transaction.Connection!.ExecuteAsync(new CommandDefinition(sql, new
            {
                Store = store,
                Types = gaps.Select(g => g.EntityType).ToArray(),
                Sinces = gaps.Select(g => g.Since.UtcDateTime).ToArray(),
                Untils = gaps.Select(g => g.Until.UtcDateTime).ToArray(),
            }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>Where the open gap of <paramref name="entityType"/> begins, or null when there is none.</summary>
    public static async Task<DateTimeOffset?> SinceAsync(NpgsqlDataSource database, string store, string entityType, CancellationToken cancellationToken)
    {
        const string sql = "select since from perazzi_sync.reconcile_gaps where store_hash = @Store and entity_type = @EntityType";
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        var since = await connection.QueryFirstOrDefaultAsync<DateTime?>(new CommandDefinition(
            sql, new { Store = store, EntityType = entityType }, cancellationToken: cancellationToken));
        return since is { } at ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : null;
    }

    /// <summary>
    /// Closes the gap a listing from <paramref name="listedFrom"/>, begun at
    /// <paramref name="listingStartedAt"/>, covered: one that ended before the listing began. A gap
    /// a check widened meanwhile stays open for the next listing.
    /// </summary>
    public static async Task CloseAsync(
        NpgsqlDataSource database, string store, string entityType, DateTimeOffset listedFrom, DateTimeOffset listingStartedAt,
        CancellationToken cancellationToken)
    {
        const string sql = """
            delete from perazzi_sync.reconcile_gaps
            where store_hash = @Store and entity_type = @EntityType and since >= @ListedFrom and until <= @StartedAt
            """;
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(sql, new
        {
            Store = store,
            EntityType = entityType,
            ListedFrom = listedFrom.UtcDateTime,
            StartedAt = listingStartedAt.UtcDateTime,
        }, cancellationToken: cancellationToken));
    }
}
