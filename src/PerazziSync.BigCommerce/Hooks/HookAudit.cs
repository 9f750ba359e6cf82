using System.Globalization;
using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using PerazziSync.BigCommerce.Records;

namespace PerazziSync.BigCommerce.Hooks;

/// <summary>
/// The audit row of a change to the store's hooks, whoever made it: <c>hooks ensure</c> (with the
/// operator) or the worker's check (re-activations). Header names and values never appear: the
/// shared header is as secret as a password.
/// </summary>
public static class HookAudit
{
    public const string ObjectType = "bigcommerce_hook";

    /// <summary>What changed on which hook: <paramref name="result"/> is the hook as BigCommerce returned it, or as it was for a deletion.</summary>
    public static JsonObject Metadata(string store, HookChange change, BigCommerceHook result)
    {
        var fields = new JsonArray();
        if (change.Action == HookChange.Create)
        {
            fields.Add("scope");
            fields.Add("destination");
            fields.Add("is_active");
        }
        if (change.Changes?.IsActive is not null)
        {
            fields.Add("is_active");
        }
        if (change.Changes?.Destination is not null)
        {
            fields.Add("destination");
        }
        if (change.Changes?.Headers is not null || (change.Action == HookChange.Create && result.Headers.Count > 0))
        {
            fields.Add("headers");
        }
        var metadata = new JsonObject
        {
            ["source_system"] = "bigcommerce",
            ["store_hash"] = store,
            ["scope"] = change.Scope,
            ["hook_id"] = result.Id,
            ["destination"] = result.Destination,
            ["is_active"] = result.IsActive,
            ["why"] = new JsonArray(change.Why.Select(w => (JsonNode?)w).ToArray()),
            ["fields"] = fields,
        };
        if (change.Hook is { } before && change.Action != HookChange.Delete)
        {
            metadata["previous"] = new JsonObject
            {
                ["destination"] = before.Destination,
                ["is_active"] = before.IsActive,
            };
        }
        return metadata;
    }

    /// <summary>The row of a change the worker made, as the role its transaction runs as.</summary>
    public static Task WriteAsync(NpgsqlTransaction transaction, string action, long hookId, JsonObject metadata, CancellationToken cancellationToken)
    {
        const string sql = """
            insert into audit_log (actor_role, action, object_type, object_id, metadata)
            values (current_user, @Action, @ObjectType, @ObjectId, @Metadata::jsonb)
            """;
        return transaction.Connection!.ExecuteAsync(new CommandDefinition(sql, new
        {
            Action = action,
            ObjectType,
            ObjectId = hookId.ToString(CultureInfo.InvariantCulture),
            Metadata = metadata.ToJsonString(),
        }, transaction, cancellationToken: cancellationToken));
    }
}
