namespace PerazziSync.BigCommerce.Sync;

/// <summary>
/// How a round of order fetches asks for the orders it waits for (docs/sync-rules.md): orders
/// with ids close together are listed in one request by id range; an order far from any other
/// is fetched alone, because a range reaching it would list every order modified in between.
/// </summary>
public static class OrderRanges
{
    /// <summary>
    /// The widest id range listed at once. A range lists every order in it modified since the
    /// round's callbacks, not only the awaited ones; this many ids keep that within a few pages.
    /// </summary>
    public const long WidestSpan = 1000;

    /// <summary>The awaited ids in ascending runs, each spanning at most <see cref="WidestSpan"/> ids.</summary>
    public static IReadOnlyList<IReadOnlyList<long>> Split(IEnumerable<long> orderIds)
    {
        var runs = new List<IReadOnlyList<long>>();
        List<long>? run = null;
        foreach (var id in orderIds.Distinct().Order())
        {
            if (run is null || id - run[0] >= WidestSpan)
            {
                run = [];
                runs.Add(run);
            }
            run.Add(id);
        }
        return runs;
    }
}
