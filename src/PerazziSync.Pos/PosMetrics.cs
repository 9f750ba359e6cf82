using System.Diagnostics.Metrics;

namespace PerazziSync.Pos;

/// <summary>POS instruments, on the product's meter (<c>PerazziSync</c>).</summary>
static class PosMetrics
{
    static readonly Meter Meter = new("PerazziSync");

    static readonly Counter<long> ImportRowCounter =
        Meter.CreateCounter<long>("perazzisync.pos.import.rows", description: "POS export rows imported, by outcome");

    public static void ImportRows(long rows, string outcome)
    {
        if (rows > 0)
        {
            ImportRowCounter.Add(rows, new KeyValuePair<string, object?>("outcome", outcome));
        }
    }
}
