using System.CommandLine;
using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using PerazziSync.Data;

namespace PerazziSync.Cli;

/// <summary>
/// The audit rows of every operator verb, with who did it. The name the operator gives
/// (<c>--as</c>, <c>$PERAZZISYNC_OPERATOR</c>) is a claim nothing checks, so each row also carries
/// what the operator does not choose: the OS account and host the Cli ran as and on, and the
/// login the database knows the writer by.
/// </summary>
sealed class OperatorAudit(string claimed)
{
    /// <summary>The name the operator gave, else the login name.</summary>
    public string Claimed => claimed;

    public static Option<string?> Option() => new("--as")
    {
        Description = "Operator name for the audit log; default: $PERAZZISYNC_OPERATOR, else the login name. " +
            "Recorded beside the OS user, host and database login, which it does not replace",
    };

    public static OperatorAudit From(ParseResult parseResult, Option<string?> option) => new(
        new[] { parseResult.GetValue(option), Environment.GetEnvironmentVariable("PERAZZISYNC_OPERATOR") }
            .FirstOrDefault(name => !string.IsNullOrWhiteSpace(name))
        ?? Environment.UserName);

    /// <summary>
    /// <paramref name="context"/> with the operator's identity, for a change whose audit rows the
    /// database writes from the transaction's context (asset.verify, asset.reject); the database
    /// adds the login it knows the writer by.
    /// </summary>
    public AuditContext Describe(AuditContext context) => context
        .With("operator", claimed)
        .With("os_user", Environment.UserName)
        .With("host", Environment.MachineName);

    /// <summary>
    /// One <c>audit_log</c> row per object in <paramref name="transaction"/>: its own metadata,
    /// then the operator's identity, which the object's metadata cannot override. Returns the
    /// rows' ids, in the order of <paramref name="rows"/>.
    /// </summary>
    public async Task<IReadOnlyList<Guid>> WriteAsync(
        NpgsqlTransaction transaction, string action, string objectType,
        IReadOnlyCollection<(string ObjectId, JsonObject Metadata)> rows, CancellationToken cancellationToken)
    {
        // session_user, not current_user: the writing transaction may have switched to
        // service_role, and the login it connected with is what the database vouches for.
        const string sql = """
            insert into audit_log (id, actor_role, action, object_type, object_id, metadata)
            select m.row_id, 'operator', @Action, @ObjectType, m.id,
                   m.metadata::jsonb || jsonb_build_object(
                     'operator', @Operator::text,
                     'os_user', @OsUser::text,
                     'host', @Host::text,
                     'db_session_user', session_user)
            from unnest(@RowIds, @Ids, @Metadata) as m(row_id, id, metadata)
            """;
        if (rows.Count == 0)
        {
            return [];
        }
        var rowIds = rows.Select(_ => Guid.NewGuid()).ToArray();
        await transaction.Connection!.ExecuteAsync(new CommandDefinition(sql, new
        {
            RowIds = rowIds,
            Action = action,
            ObjectType = objectType,
            Ids = rows.Select(r => r.ObjectId).ToArray(),
            Metadata = rows.Select(r => r.Metadata.ToJsonString()).ToArray(),
            Operator = claimed,
            OsUser = Environment.UserName,
            Host = Environment.MachineName,
        }, transaction, cancellationToken: cancellationToken));
        return rowIds;
    }
}
