namespace PerazziSync.Contracts;

/// <summary>
/// Text from a source quoted where people read it (a log line, a rejection's reason): its control
/// characters, which a terminal showing the log would obey, replaced by <c>?</c>.
/// </summary>
public static class PrintableText
{
    public static string Of(string text) =>
        text.Any(char.IsControl) ? new string([.. text.Select(c => char.IsControl(c) ? '?' : c)]) : text;
}
