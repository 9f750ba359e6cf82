using System.Runtime.InteropServices;
using System.Text.Json;

namespace PerazziSync.Contracts;

/// <summary>
/// Whether a JSON value can go into a <c>jsonb</c> column as it is. Valid JSON carries what jsonb
/// refuses: NUL and lone surrogates written as escapes (<c>\u0000</c>, <c>\ud800</c>), in strings
/// and property names alike, and numbers beyond <c>numeric</c> (<see cref="JsonbNumber"/>).
/// </summary>
public static class JsonbValue
{
    /// <summary>What in <paramref name="value"/> jsonb cannot hold, or null.</summary>
    public static string? Problem(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in value.EnumerateObject())
                {
                    if (JsonText.NameOf(property) is not { } name)
                    {
                        return "a lone UTF-16 surrogate";
                    }
                    if ((StorableText.Problem(name) ?? Problem(property.Value)) is { } problem)
                    {
                        return problem;
                    }
                }
                return null;
            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray())
                {
                    if (Problem(item) is { } problem)
                    {
                        return problem;
                    }
                }
                return null;
            case JsonValueKind.String:
                return JsonText.Of(value) is { } text ? StorableText.Problem(text) : "a lone UTF-16 surrogate";
            case JsonValueKind.Number:
                // A number's text is digits, signs, a point and an exponent: only its length needs cutting.
                return JsonbNumber.Fits(JsonMarshal.GetRawUtf8Value(value))
                    ? null
                    : $"the number {StorableText.Of(value.GetRawText(), 41)}, too large or too precise for a numeric";
            default:
                return null;
        }
    }
}
