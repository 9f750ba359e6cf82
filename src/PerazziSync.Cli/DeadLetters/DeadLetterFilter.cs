namespace PerazziSync.Cli.DeadLetters;

/// <summary>Which dead letters a command works on. Every criterion given must hold.</summary>
sealed record DeadLetterFilter(
    string? MessageType = null,
    string? ExceptionText = null,
    DateTimeOffset? Since = null,
    DateTimeOffset? Until = null,
    IReadOnlySet<string>? MessageIds = null)
{
    public bool Matches(DeadLetter letter) =>
        (MessageType is null || string.Equals(letter.MessageType, MessageType, StringComparison.OrdinalIgnoreCase))
        && (ExceptionText is null
            || Contains(letter.ExceptionType, ExceptionText)
            || Contains(letter.ExceptionMessage, ExceptionText))
        && (Since is null || letter.FaultedAt >= Since)
        && (Until is null || letter.FaultedAt < Until)
        && (MessageIds is null || (letter.MessageId is { } id && MessageIds.Contains(id)));

    static bool Contains(string? text, string part) =>
        text is not null && text.Contains(part, StringComparison.OrdinalIgnoreCase);
}
