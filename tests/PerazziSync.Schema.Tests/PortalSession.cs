using Dapper;
using Npgsql;

namespace PerazziSync.Schema.Tests;

/// <summary>
/// Runs SQL inside an open transaction as Supabase's API would: as the <c>anon</c> or
/// <c>authenticated</c> role with the JWT claims in <c>request.jwt.claims</c>, or as the
/// service role.
/// </summary>
public sealed class PortalSession(NpgsqlConnection connection)
{
    public const string InsufficientPrivilege = "42501";

    public Task AsUserAsync(Guid userId) => BecomeAsync("authenticated", $$"""{"sub":"{{userId}}","role":"authenticated"}""");

    public Task AsAnonAsync() => BecomeAsync("anon", """{"role":"anon"}""");

    public Task AsServiceRoleAsync() => BecomeAsync("service_role", """{"role":"service_role"}""");

    /// <summary>Back to the migrating owner, to look at what really happened.</summary>
    public Task AsDatabaseOwnerAsync() => connection.ExecuteAsync("reset role; select set_config('request.jwt.claims', '', true)");

    public Task<long> CountAsync(string sql, object? args = null) => connection.ExecuteScalarAsync<long>(sql, args);

    public Task<T?> ScalarAsync<T>(string sql, object? args = null) => connection.ExecuteScalarAsync<T>(sql, args);

    public Task<int> ExecuteAsync(string sql, object? args = null) => connection.ExecuteAsync(sql, args);

    public Task<T> QuerySingleAsync<T>(string sql, object? args = null) => connection.QuerySingleAsync<T>(sql, args);

    /// <summary>Asserts the statement is refused for lack of privilege, and carries on in the same transaction.</summary>
    public async Task DeniedAsync(string sql, object? args = null)
    {
        await connection.ExecuteAsync("savepoint denied");
        try
        {
            await connection.ExecuteAsync(sql, args);
        }
        catch (PostgresException e) when (e.SqlState == InsufficientPrivilege)
        {
            await connection.ExecuteAsync("rollback to savepoint denied");
            return;
        }
        throw new Xunit.Sdk.XunitException($"Expected permission to be denied, but this succeeded: {sql}");
    }

    async Task BecomeAsync(string role, string claims)
    {
        await connection.ExecuteAsync($"set local role {role}");
        await connection.ExecuteAsync("select set_config('request.jwt.claims', @claims, true)", new { claims });
    }
}
