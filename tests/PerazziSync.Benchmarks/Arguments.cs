using System.Globalization;

namespace PerazziSync.Benchmarks;

/// <summary>A command line that was wrong: the usage is printed with it.</summary>
sealed class UsageException(string message) : Exception(message);

/// <summary>
/// The benchmark's command line: a command, then <c>--name value</c> options and the flag
/// <c>--quick</c>. An option no benchmark of the command reads is refused rather than ignored: a
/// misspelt size would otherwise measure the default and report it as what was asked for.
/// </summary>
sealed class Arguments
{
    readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);

    Arguments(string command, IReadOnlyList<string> words)
    {
        Command = command;
        Words = words;
    }

    public string Command { get; }

    /// <summary>Everything after the program's name, as typed.</summary>
    public IReadOnlyList<string> Words { get; }

    /// <summary>Development sizes: every benchmark in seconds instead of minutes, its figures not for quoting.</summary>
    public bool Quick => _options.ContainsKey("quick");

    /// <summary>How many times each benchmark alternates its reference and the product.</summary>
    public int Rounds => Int(Option.Rounds);

    public static Arguments Parse(string[] args)
    {
        var parsed = new Arguments(args.FirstOrDefault() ?? "", args);
        for (var i = 1; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || args[i].Length == 2)
            {
                throw new UsageException($"'{args[i]}' is not an option (options are --name value, or --quick)");
            }
            var name = args[i][2..];
            string? value = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : null;
            if (!parsed._options.TryAdd(name, value))
            {
                throw new UsageException($"--{name} is given twice");
            }
        }
        return parsed;
    }

    /// <summary>Refuses any option not in <paramref name="known"/>, <c>--quick</c> and <c>--rounds</c>, and any bad value.</summary>
    public void EnsureOnly(IEnumerable<Option> known)
    {
        var options = known.Append(Option.Rounds).ToList();
        if (_options.Keys.FirstOrDefault(name => name != "quick" && options.All(o => o.Name != name)) is { } unknown)
        {
            throw new UsageException($"{Command} has no option --{unknown}");
        }
        if (_options.GetValueOrDefault("quick") is { } value)
        {
            throw new UsageException($"--quick takes no value, not '{value}'");
        }
        foreach (var option in options)
        {
            Ints(option);
        }
    }

    /// <summary>The option's single value (see <see cref="Ints"/>).</summary>
    public int Int(Option option) =>
        Ints(option) is [var value] ? value : throw new UsageException($"--{option.Name} takes one number");

    /// <summary>
    /// The option's value, a positive number or several separated by commas, else its full
    /// default, or its quick one with <c>--quick</c>.
    /// </summary>
    public int[] Ints(Option option)
    {
        if (!_options.TryGetValue(option.Name, out var value))
        {
            return Quick ? option.Quick : option.Full;
        }
        var numbers = (value ?? "").Split(',');
        return numbers.All(n => int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out var x) && x > 0)
            ? [.. numbers.Select(n => int.Parse(n, CultureInfo.InvariantCulture))]
            : throw new UsageException($"--{option.Name} takes positive whole numbers, not '{value}'");
    }
}

/// <summary>A numeric option: its full default, its <c>--quick</c> default and what it sets.</summary>
sealed record Option(string Name, int[] Full, int[] Quick, string Meaning)
{
    /// <summary>The fewest rounds whose median one slow round on a shared machine cannot move.</summary>
    public static readonly Option Rounds = new("rounds", [3], [3], "rounds, each the reference then PerazziSync");

    public Option(string name, int full, int quick, string meaning)
        : this(name, [full], [quick], meaning)
    {
    }

    public string Usage =>
        $"--{Name} {string.Join(',', Full)}{(Quick.SequenceEqual(Full) ? "" : $" (quick {string.Join(',', Quick)})")}: {Meaning}";
}
