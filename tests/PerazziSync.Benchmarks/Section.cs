namespace PerazziSync.Benchmarks;

/// <summary>
/// What one benchmark reports: its rows, what it ran, and how its reference differs from the
/// product, so that the table never stands without the work each side did.
/// </summary>
/// <param name="Name">E.g. "Receiver".</param>
/// <param name="Ran">What ran, with the sizes used, as one sentence.</param>
/// <param name="Reference">What the reference is, as one sentence.</param>
/// <param name="ProductOnly">What PerazziSync does that the reference does not.</param>
/// <param name="ReferenceOnly">What the reference does that PerazziSync does not.</param>
sealed record Section(
    string Name,
    string Ran,
    string Reference,
    IReadOnlyList<Row> Rows,
    IReadOnlyList<string> ProductOnly,
    IReadOnlyList<string> ReferenceOnly)
{
    /// <summary>Where the machine's CPU went while the figures were measured, by process, when the benchmark reads it.</summary>
    public IReadOnlyList<string> Profile { get; init; } = [];
}

/// <summary>A benchmark the command line can name.</summary>
/// <param name="Command">The command that runs it alone.</param>
/// <param name="Description">One line for the usage text.</param>
/// <param name="Options">The options it reads.</param>
/// <param name="RunAsync">Runs every round and reports; <c>all</c> runs each benchmark's in turn.</param>
sealed record Benchmark(string Command, string Description, IReadOnlyList<Option> Options, Func<Arguments, Task<Section>> RunAsync);
