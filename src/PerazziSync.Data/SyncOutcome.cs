namespace PerazziSync.Data;

/// <summary>What applying one message, record or snapshot did.</summary>
public enum SyncOutcome
{
    /// <summary>A row was inserted, changed or deleted.</summary>
    Applied,

    /// <summary>What is stored already says the same.</summary>
    Unchanged,

    /// <summary>What is stored is newer; nothing was written.</summary>
    Stale,

    /// <summary>Valid, but cannot be attributed yet: parked with its reason.</summary>
    Parked,

    /// <summary>A fetch that started after the callback had already seen its change.</summary>
    Coalesced,
}

public static class SyncOutcomes
{
    /// <summary>The name metrics and logs use: <c>applied</c>, <c>unchanged</c>, …</summary>
    public static string Name(this SyncOutcome outcome) => outcome switch
    {
        SyncOutcome.Applied => "applied",
        SyncOutcome.Unchanged => "unchanged",
        SyncOutcome.Stale => "stale",
        SyncOutcome.Parked => "parked",
        SyncOutcome.Coalesced => "coalesced",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, null),
    };
}
