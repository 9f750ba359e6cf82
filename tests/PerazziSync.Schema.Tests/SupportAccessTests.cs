using Dapper;
using Npgsql;
using static PerazziSync.Schema.Tests.PortalFixtureData;
using Xunit;

namespace PerazziSync.Schema.Tests;

/// <summary>
/// Support staff read another user's conversations only after their request for access committed,
/// so the audit row stays whatever the reading request does: on a database of its own, with
/// transactions that commit and roll back as the portal's API requests do.
/// </summary>
public sealed class SupportAccessTests(PortalDatabaseFixture portal) : IClassFixture<PortalDatabaseFixture>
{
    /// <summary>One API request as the support user: <paramref name="sql"/> in a transaction that commits or rolls back.</summary>
    async Task<List<string>> AsSupportAsync(string sql, bool commit)
    {
        await using var transaction = await portal.Connection.BeginTransactionAsync();
        await new PortalSession(portal.Connection).AsUserAsync(Support);
        var rows = (await portal.Connection.QueryAsync<string>(sql, new { jane = Jane, c = JaneConversation }, transaction)).AsList();
        if (commit)
        {
            await transaction.CommitAsync();
        }
        else
        {
            await transaction.RollbackAsync();
        }
        return rows;
    }

    Task<string?> AuditAsync() => portal.Connection.ExecuteScalarAsync<string?>(
        "select string_agg(action, ',' order by action) from audit_log where actor_user_id = @support", new { support = Support });

    [Fact]
    public async Task A_read_answers_only_after_an_access_request_committed_and_a_rolled_back_request_grants_nothing()
    {
        // A request that asks for access and rolls back, as `Prefer: tx=rollback` ends one.
        await AsSupportAsync("select support_request_access(@jane)::text", commit: false);
        var refused = await Assert.ThrowsAsync<PostgresException>(() => AsSupportAsync("select id from support_read_conversation(@c)", commit: false));
        Assert.Equal(PortalSession.InsufficientPrivilege, refused.SqlState);
        Assert.Contains("support_request_access", refused.Hint, StringComparison.Ordinal);
        Assert.Null(await AuditAsync());

        await AsSupportAsync("select support_request_access(@jane)::text", commit: true);

        // Read, then rolled back: the committed access row stays.
        Assert.Equal(2, (await AsSupportAsync("select id::text from support_read_conversation(@c)", commit: false)).Count);
        Assert.Equal([JaneConversation.ToString()], await AsSupportAsync("select id::text from support_list_conversations(@jane)", commit: true));
        Assert.Equal("support.conversation.access,support.conversation.list", await AuditAsync());
    }
}
