using System.Text;

namespace PerazziSync.Contracts;

/// <summary>
/// Text from a source (a POS export or callback, a BigCommerce response) made fit for a
/// PostgreSQL <c>text</c> or <c>jsonb</c> value. The server refuses NUL, and Npgsql's UTF-8
/// encoder throws on a lone UTF-16 surrogate; either one would abort the transaction that writes
/// it, a POS rejection's id or reason and a shopper's order comment alike.
/// </summary>
public static class StorableText
{
    /// <summary>
    /// <paramref name="text"/> with NUL and lone surrogates replaced by U+FFFD and cut to
    /// <paramref name="maxLength"/> characters (marked with an ellipsis), never between the two
    /// halves of a surrogate pair.
    /// </summary>
    public static string? Of(string? text, int maxLength)
    {
        if (text is null || (text.Length <= maxLength && Problem(text) is null))
        {
            return text;
        }
        var result = new StringBuilder(Math.Min(text.Length, maxLength));
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var pair = char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
            var width = pair ? 2 : 1;
            // Room for the ellipsis when the text goes on after this character.
            if (result.Length + width > maxLength - (i + width < text.Length ? 1 : 0))
            {
                return result.Append('…').ToString();
            }
            if (pair)
            {
                result.Append(c).Append(text[++i]);
            }
            else
            {
                result.Append(c == '\0' || char.IsSurrogate(c) ? '\uFFFD' : c);
            }
        }
        return result.ToString();
    }

    /// <summary>What in <paramref name="text"/> PostgreSQL could not store, or null.</summary>
    public static string? Problem(ReadOnlySpan<char> text)
    {
        if (text.Contains('\0'))
        {
            return "a NUL character";
        }
        var rest = text;
        while (rest.IndexOfAnyInRange('\uD800', '\uDFFF') is var at and >= 0)
        {
            if (!char.IsHighSurrogate(rest[at]) || at + 1 >= rest.Length || !char.IsLowSurrogate(rest[at + 1]))
            {
                return "a lone UTF-16 surrogate";
            }
            rest = rest[(at + 2)..];
        }
        return null;
    }
}
