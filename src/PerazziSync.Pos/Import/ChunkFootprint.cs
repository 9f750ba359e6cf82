namespace PerazziSync.Pos.Import;

/// <summary>
/// What a chunk of an import touches whose order between chunks matters: its records' keys, its
/// serials (normalised as the database normalises them) and, of those, the serials of claimed guns
/// (unverified or pending) just before it is written. Two chunks overlap when they hold versions
/// of one work order, which must meet in the file's order, or when one holds a record of a gun the
/// other claims: the earlier chunk's records are evidence the claim is weighed on. Chunks that do
/// not overlap are written at the same time; what they write does not depend on which commits first.
/// </summary>
sealed record ChunkFootprint(IReadOnlySet<string> Keys, IReadOnlySet<string> Serials, IReadOnlySet<string> Claimed)
{
    public bool Overlaps(ChunkFootprint other) =>
        Keys.Overlaps(other.Keys) || Claimed.Overlaps(other.Serials) || other.Claimed.Overlaps(Serials);
}
