using System.Text.Json.Nodes;

namespace PerazziSync.Testing;

/// <summary>POS callback bodies: the fixture <c>fixtures/pos/callback-completed.json</c>, or a copy of it for another work order.</summary>
public static class PosCallbacks
{
    public static string Fixture() => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "pos", "callback-completed.json"));

    /// <summary>The fixture as work order <paramref name="sourceRecordId"/>, with the fields given changed.</summary>
    public static string For(string sourceRecordId, string? updatedAt = null, string? status = null, string? serialNumber = null)
    {
        var record = JsonNode.Parse(Fixture())!;
        record["source_record_id"] = sourceRecordId;
        if (updatedAt is not null)
        {
            record["updated_at"] = updatedAt;
        }
        if (status is not null)
        {
            record["status"] = status;
        }
        if (serialNumber is not null)
        {
            record["serial_number"] = serialNumber;
        }
        return record.ToJsonString();
    }
}
