namespace PerazziSync.Contracts;

/// <summary>
/// Text from a source quoted where people read it (a log line, a rejection's reason). Its control
/// characters would be obeyed by a terminal showing the log (an escape sequence, a line break
/// that starts a forged line), and Unicode's bidirectional formatting characters reorder what
/// follows them on any screen; both become <c>?</c>.
/// </summary>
public static class PrintableText
{
    public static string Of(string text) =>
        text.Any(Misleads) ? new string([.. text.Select(c => Misleads(c) ? '?' : c)]) : text;

    /// <summary><see cref="Of(string)"/> of at most the first <paramref name="maxLength"/> characters, marked with an ellipsis when cut.</summary>
    public static string Of(string text, int maxLength) => Of(StorableText.Of(text, maxLength)!);

    /// <summary>A control character, or a bidirectional formatting character.</summary>
    public static bool Misleads(char c) => char.IsControl(c) || IsBidirectionalFormatting(c);

    /// <summary>The marks, embeddings, overrides and isolates of Unicode's bidirectional algorithm.</summary>
    public static bool IsBidirectionalFormatting(char c) =>
        c is '\u061C' or '\u200E' or '\u200F' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');
}
