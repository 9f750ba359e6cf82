using PerazziSync.Pos.Import;
using Xunit;

namespace PerazziSync.Rules.Tests;

/// <summary>Which chunks of an import may be written at the same time, and which wait for the one before.</summary>
public sealed class ChunkFootprintTests
{
    static ChunkFootprint Chunk(string[] keys, string[] serials, string[]? claimed = null) =>
        new(keys.ToHashSet(StringComparer.Ordinal), serials.ToHashSet(StringComparer.Ordinal), (claimed ?? []).ToHashSet(StringComparer.Ordinal));

    [Fact]
    public void Chunks_of_other_work_orders_on_the_same_verified_guns_are_written_at_once()
    {
        var first = Chunk(["WO-1", "WO-2"], ["MX8-1", "HT-2"]);
        var second = Chunk(["WO-3", "WO-4"], ["MX8-1", "HT-2"]);

        Assert.False(first.Overlaps(second));
        Assert.False(second.Overlaps(first));
    }

    [Fact]
    public void Versions_of_one_work_order_in_two_chunks_wait_for_each_other()
    {
        var first = Chunk(["WO-1", "WO-2"], ["MX8-1"]);
        var second = Chunk(["WO-9", "WO-2"], ["HT-2"]);

        Assert.True(first.Overlaps(second));
        Assert.True(second.Overlaps(first));
    }

    [Fact]
    public void A_record_of_a_gun_the_other_chunk_claims_waits_whichever_chunk_found_the_claim()
    {
        // The earlier chunk found BV-1 claimed; the later one names it.
        Assert.True(Chunk(["WO-1"], ["BV-1"], ["BV-1"]).Overlaps(Chunk(["WO-2"], ["BV-1", "MX8-1"])));
        // The gun was claimed by the time the later chunk looked.
        Assert.True(Chunk(["WO-1"], ["BV-1"]).Overlaps(Chunk(["WO-2"], ["BV-1"], ["BV-1"])));
        // A claim on a gun the other chunk does not name is no reason to wait.
        Assert.False(Chunk(["WO-1"], ["BV-1"], ["BV-1"]).Overlaps(Chunk(["WO-2"], ["BV-2"], ["BV-2"])));
    }
}
