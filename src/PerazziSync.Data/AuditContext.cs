using System.Diagnostics;
using System.Text.Json.Nodes;

namespace PerazziSync.Data;

/// <summary>
/// What the audit rows of one transaction say about where its changes came from (source system
/// and key, message and delivery ids, trace id, …). The database writes the rows themselves, one
/// per changed row with what changed (schema/0010, docs/sync-rules.md); this is the part only the
/// writer knows, handed over in the transaction-local setting <c>perazzi_sync.audit</c>.
/// </summary>
public sealed class AuditContext
{
    readonly JsonObject _metadata;

    AuditContext(JsonObject metadata) => _metadata = metadata;

    /// <summary>
    /// The context of a change from <paramref name="sourceSystem"/>; the current trace id is
    /// taken here, so one row leads to its trace and back.
    /// </summary>
    public static AuditContext For(string sourceSystem, string? sourceKey = null, Guid? messageId = null, string? deliveryId = null) =>
        new(new JsonObject
        {
            ["source_system"] = sourceSystem,
            ["source_key"] = sourceKey,
            ["message_id"] = messageId?.ToString(),
            ["delivery_id"] = deliveryId,
            ["trace_id"] = Activity.Current?.TraceId.ToString(),
        });

    /// <summary>A copy with more fields (e.g. the store, the webhook scope, an import's id and file).</summary>
    public AuditContext With(string name, JsonNode? value)
    {
        var copy = (JsonObject)_metadata.DeepClone();
        copy[name] = value;
        return new AuditContext(copy);
    }

    /// <summary>A copy whose rows carry <paramref name="action"/> instead of their table's own (e.g. commerce.order.archive).</summary>
    public AuditContext WithAction(string action) => With("action", action);

    /// <summary>
    /// A copy that adds, to the row of each source key in <paramref name="keys"/>, its own fields
    /// (the line of an export, the message a record came in).
    /// </summary>
    public AuditContext WithKeys(IEnumerable<KeyValuePair<string, JsonObject>> keys)
    {
        var map = new JsonObject();
        foreach (var (key, fields) in keys)
        {
            map[key] = fields;
        }
        return With("keys", map);
    }

    public string ToJson() => _metadata.ToJsonString();
}
