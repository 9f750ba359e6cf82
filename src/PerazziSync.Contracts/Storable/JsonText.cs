using System.Text.Json;

namespace PerazziSync.Contracts;

/// <summary>
/// The text of JSON strings and property names, or null where JSON carries an escape .NET
/// cannot decode (a lone surrogate, <c>\ud800</c>), which <see cref="JsonElement.GetString"/>
/// throws on.
/// </summary>
public static class JsonText
{
    public static string? Of(JsonElement value)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    public static string? NameOf(JsonProperty property)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
