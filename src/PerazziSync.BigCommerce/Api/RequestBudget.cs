using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace PerazziSync.BigCommerce.Api;

/// <summary>
/// The store's API quota, kept in PostgreSQL so that every worker replica draws from the same
/// budget: BigCommerce counts requests per store, so three replicas with a budget each would
/// triple the rate and earn 429s.
/// </summary>
public sealed class RequestBudget(NpgsqlDataSource database, IOptions<BigCommerceOptions> options, TimeProvider time)
{
    static readonly TimeSpan ShortestWait = TimeSpan.FromMilliseconds(20);

    /// <summary>Waits until the store's budget has a request left, and takes it.</summary>
    public async Task AcquireAsync(string storeHash, CancellationToken cancellationToken)
    {
        // A request is taken from the current window; once the window has passed, a new one
        // starts with the full quota.
        const string take = """
            insert into perazzi_sync.api_budget as b (store_hash, window_ends_at, requests_left)
            values (@StoreHash, now() + @Window, @Quota - 1)
            on conflict (store_hash) do update set
              window_ends_at = case when b.window_ends_at <= now() then now() + @Window else b.window_ends_at end,
              requests_left = case when b.window_ends_at <= now() then @Quota - 1 else b.requests_left - 1 end
            where b.window_ends_at <= now() or b.requests_left > 0
            returning 0::float8 as wait_ms
            """;
        const string waitFor = """
            select greatest(extract(epoch from window_ends_at - now()) * 1000, 0)::float8
            from perazzi_sync.api_budget where store_hash = @StoreHash
            """;
        var settings = options.Value;
        var arguments = new { StoreHash = storeHash, Window = settings.RateLimitWindow, Quota = settings.RequestsPerWindow };
        while (true)
        {
            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            var taken = await connection.QueryFirstOrDefaultAsync<double?>(
                new CommandDefinition(take, arguments, cancellationToken: cancellationToken));
            if (taken is not null)
            {
                return;
            }
            var waitMs = await connection.ExecuteScalarAsync<double>(
                new CommandDefinition(waitFor, arguments, cancellationToken: cancellationToken));
            await connection.CloseAsync();
            // Replicas that wake together would race for the first requests of the new window;
            // a little jitter spreads them.
            var wait = TimeSpan.FromMilliseconds(waitMs + Random.Shared.Next(5, 50));
            await Task.Delay(wait < ShortestWait ? ShortestWait : wait, time, cancellationToken);
        }
    }

    /// <summary>
    /// Narrows the budget to what BigCommerce says is left. Never widens it: responses arrive out
    /// of order, and a late one from the previous window must not hand out requests that the
    /// current window does not have.
    /// </summary>
    public async Task ObserveAsync(string storeHash, int requestsLeft, TimeSpan resetIn, CancellationToken cancellationToken)
    {
        const string observe = """
            update perazzi_sync.api_budget set
              requests_left = least(requests_left, @RequestsLeft),
              window_ends_at = greatest(window_ends_at, now() + @ResetIn)
            where store_hash = @StoreHash
            """;
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            observe, new { StoreHash = storeHash, RequestsLeft = requestsLeft, ResetIn = resetIn }, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// BigCommerce answered 429: nothing is left until its window resets, when it says. The
    /// budget's own idea of the window (from its first request) gives way to BigCommerce's,
    /// which may end sooner: waiting for the later of the two would idle the sync for no reason.
    /// </summary>
    public async Task ExhaustedAsync(string storeHash, TimeSpan resetIn, CancellationToken cancellationToken)
    {
        const string exhausted = """
            update perazzi_sync.api_budget set requests_left = 0, window_ends_at = now() + @ResetIn
            where store_hash = @StoreHash
            """;
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            exhausted, new { StoreHash = storeHash, ResetIn = resetIn }, cancellationToken: cancellationToken));
    }
}
