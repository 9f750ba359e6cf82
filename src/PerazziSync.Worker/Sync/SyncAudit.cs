using System.Diagnostics;
using System.Text.Json.Nodes;

namespace PerazziSync.Worker.Sync;

/// <summary>The metadata every audit row of one applied message carries (SPEC section 6).</summary>
static class SyncAudit
{
    public static string Metadata(string sourceSystem, string sourceKey, Guid? messageId, string deliveryId, JsonObject? extra = null)
    {
        var metadata = new JsonObject
        {
            ["source_system"] = sourceSystem,
            ["source_key"] = sourceKey,
            ["message_id"] = messageId?.ToString(),
            ["delivery_id"] = deliveryId,
            ["trace_id"] = Activity.Current?.TraceId.ToString(),
        };
        if (extra is not null)
        {
            foreach (var (name, value) in extra)
            {
                metadata[name] = value?.DeepClone();
            }
        }
        return metadata.ToJsonString();
    }
}
