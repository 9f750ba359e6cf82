using System.Globalization;

namespace PerazziSync.Benchmarks;

/// <summary>How a figure is printed: its number format and unit, after scaling (a ratio of 0.56 prints as 56 %).</summary>
sealed record Unit(string Format, string Suffix, double Scale = 1)
{
    public static readonly Unit PerSecond = new("N0", "/s");
    public static readonly Unit Milliseconds = new("N1", " ms");
    public static readonly Unit Seconds = new("N1", " s");
    public static readonly Unit Percent = new("N0", " %", 100);
    public static readonly Unit Megabytes = new("N0", " MB", 1.0 / (1 << 20));
    public static readonly Unit Count = new("N0", "");
    public static readonly Unit Average = new("N2", "");

    public string Number(double value) => (value * Scale).ToString(Format, CultureInfo.InvariantCulture);

    public string Of(double value) => Number(value) + Suffix;
}

/// <summary>One figure measured once per round.</summary>
sealed class Figure
{
    public Figure(IEnumerable<double> values, Unit unit)
    {
        Values = [.. values];
        if (Values.Count == 0)
        {
            throw new ArgumentException("a figure needs at least one round", nameof(values));
        }
        Unit = unit;
        var sorted = Values.Order().ToArray();
        Median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public IReadOnlyList<double> Values { get; }

    public Unit Unit { get; }

    public double Median { get; }

    /// <summary>Each round's product figure over the same round's reference: the two ran minutes apart on the same services.</summary>
    public static Figure Ratio(Figure product, Figure reference) =>
        product.Values.Count == reference.Values.Count
            ? new(product.Values.Zip(reference.Values, (p, r) => p / r), Unit.Percent)
            : throw new ArgumentException("a ratio pairs the rounds of two figures: they must have as many", nameof(reference));

    /// <summary>The median, then the lowest and highest round: <c>1,913/s (1,850–1,990)</c>.</summary>
    public override string ToString() =>
        Values.Count == 1 ? Unit.Of(Median) : $"{Unit.Of(Median)} ({Unit.Number(Values.Min())}–{Unit.Number(Values.Max())})";
}

/// <summary>
/// What a figure must reach: the median of the rounds, where one slow round on a shared machine
/// must not decide, or every round, for a ceiling that no run may break.
/// </summary>
sealed record Target(bool EveryRound, string Symbol, Func<double, bool> Holds, double Bound)
{
    public static Target MedianAtLeast(double bound) => new(false, "≥", v => v >= bound, bound);

    public static Target MedianBelow(double bound) => new(false, "<", v => v < bound, bound);

    public static Target EveryRoundAtMost(double bound) => new(true, "≤", v => v <= bound, bound);

    public static Target EveryRoundBelow(double bound) => new(true, "<", v => v < bound, bound);

    public static Target EveryRoundNone() => new(true, "=", v => v == 0, 0);

    public bool IsMetBy(Figure figure) => EveryRound ? figure.Values.All(Holds) : Holds(figure.Median);

    public string Describe(Unit unit) => $"{Symbol} {unit.Of(Bound)}{(EveryRound ? ", every round" : "")}";
}

/// <summary>A condition a row's figure is worthless without (every order arrived, no request failed).</summary>
sealed record Check(bool Holds, string Failure);

/// <summary>
/// One line of the report. With a reference, the target applies to PerazziSync / reference, each
/// round's ratio; without, to PerazziSync's own figure. The row is met when the target holds and
/// every check does.
/// </summary>
sealed record Row(string Measure, Figure Product, string ReferenceName, Figure? Reference, Target Target, IReadOnlyList<Check> Checks)
{
    /// <summary>What the product cell adds after the figure (e.g. when the last order arrived).</summary>
    public string Detail { get; init; } = "";

    public static Row Relative(string measure, Figure product, string referenceName, Figure reference, Target target, params Check[] checks) =>
        new(measure, product, referenceName, reference, target, checks);

    public static Row Absolute(string measure, Figure product, Target target, params Check[] checks) =>
        new(measure, product, "", null, target, checks);

    /// <summary>The absolute row, next to a reference that is not measured but stated (e.g. a floor set by a quota).</summary>
    public static Row Absolute(string measure, Figure product, string referenceName, Target target, params Check[] checks) =>
        new(measure, product, referenceName, null, target, checks);

    public Figure? Ratio => Reference is null ? null : Figure.Ratio(Product, Reference);

    /// <summary>The figure the target is judged on.</summary>
    public Figure Judged => Ratio ?? Product;

    public IReadOnlyList<string> Failures => [.. Checks.Where(c => !c.Holds).Select(c => c.Failure)];

    public bool Met => Target.IsMetBy(Judged) && Failures.Count == 0;
}
