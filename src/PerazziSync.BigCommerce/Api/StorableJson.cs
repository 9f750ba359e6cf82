using System.Buffers;
using System.Text.Json;
using PerazziSync.Contracts;

namespace PerazziSync.BigCommerce.Api;

/// <summary>
/// A BigCommerce response as the portal can store it. Shoppers write parts of an order (comments,
/// addresses, names), and JSON carries characters PostgreSQL cannot hold (NUL, lone surrogates);
/// stored as they came they would fail the order's transaction for ever. Such characters become
/// U+FFFD; everything else is kept exactly.
/// </summary>
static class StorableJson
{
    public static JsonElement Of(JsonElement element)
    {
        if (IsStorable(element))
        {
            return element;
        }
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, element);
        }
        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    static bool IsStorable(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().All(p => JsonText.NameOf(p) is { } name && Text(name) && IsStorable(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().All(IsStorable),
        JsonValueKind.String => JsonText.Of(element) is { } text && Text(text),
        _ => true,
    };

    static bool Text(string text) => StorableText.Problem(text) is null;

    static void Write(Utf8JsonWriter writer, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject())
                {
                    writer.WritePropertyName(StorableText.Of(JsonText.NameOf(property) ?? "\uFFFD", int.MaxValue)!);
                    Write(writer, property.Value);
                }
                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    Write(writer, item);
                }
                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                writer.WriteStringValue(StorableText.Of(JsonText.Of(element) ?? "\uFFFD", int.MaxValue));
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }
}
