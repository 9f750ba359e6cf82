using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PerazziSync.Contracts;
using RabbitMQ.Client;

namespace PerazziSync.Cli.DeadLetters;

/// <summary>One message in an <c>_error</c> or <c>_skipped</c> queue, as MassTransit left it there.</summary>
sealed class DeadLetter
{
    // Headers MassTransit adds when it moves a message to _error (the fault and the host it
    // happened on). A replay removes them: the message goes back as it was first sent.
    static readonly string[] FaultHeaderPrefixes = ["MT-Fault-", "MT-Host-", "MT-Reason"];

    // The seconds DateTimeOffset can show (years 1 to 9999); a timestamp header may hold any 64-bit number.
    const long MinUnixTime = -62_135_596_800;
    const long MaxUnixTime = 253_402_300_799;

    DeadLetter(string queue, ulong deliveryTag, IReadOnlyBasicProperties properties, byte[] body)
    {
        Queue = queue;
        DeliveryTag = deliveryTag;
        Properties = properties;
        Body = body;
        // As the broker has them: AMQP header names are case-sensitive, and a sender may set two
        // that differ only in case.
        Headers = (properties.Headers ?? new Dictionary<string, object?>())
            .ToDictionary(h => h.Key, h => HeaderText(h.Value), StringComparer.Ordinal);
        Unreadable = ReadEnvelope(body, out var envelopeId, out var envelopeType, out var message);
        MessageId = properties.MessageId ?? envelopeId;
        MessageType = ShortTypeName(Header("MT-Fault-MessageType") ?? envelopeType);
        SourceKey = SourceKeyOf(MessageType, message);
        FaultedAt = DateTimeOffset.TryParse(Header("MT-Fault-Timestamp"), CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal, out var at) ? at : null;
        ExceptionType = Header("MT-Fault-ExceptionType");
        ExceptionMessage = Header("MT-Fault-Message") ?? Header("MT-Reason");
    }

    public string Queue { get; }
    public ulong DeliveryTag { get; }
    public IReadOnlyBasicProperties Properties { get; }
    public byte[] Body { get; }
    public IReadOnlyDictionary<string, string?> Headers { get; }
    public string? MessageId { get; }
    public string? MessageType { get; }
    public string? SourceKey { get; }
    public DateTimeOffset? FaultedAt { get; }
    public string? ExceptionType { get; }
    public string? ExceptionMessage { get; }

    /// <summary>
    /// Why the body is not a MassTransit envelope the Cli understands, or null when it is. Such a
    /// message is listed, shown and purged like any other, but never replayed.
    /// </summary>
    public string? Unreadable { get; }

    /// <summary>The queue the message was consumed from: the dead-letter queue's name without its suffix.</summary>
    public string InputQueue => DeadLetterQueues.InputOf(Queue);

    public static DeadLetter From(string queue, BasicGetResult result) =>
        // The client reuses the body's buffer once the next frame arrives: keep a copy.
        new(queue, result.DeliveryTag, result.BasicProperties, result.Body.ToArray());

    /// <summary>A header by its name in any case, the exact spelling first.</summary>
    public string? Header(string name) =>
        Headers.TryGetValue(name, out var value) ? value
        : Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    /// <summary>The properties to send the message again with: the same, minus the fault headers.</summary>
    public BasicProperties ReplayProperties()
    {
        var properties = new BasicProperties(Properties)
        {
            Persistent = true,
            Headers = (Properties.Headers ?? new Dictionary<string, object?>())
                .Where(h => !FaultHeaderPrefixes.Any(p => h.Key.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
                .ToDictionary(h => h.Key, h => h.Value),
        };
        return properties;
    }

    /// <summary>
    /// The body as indented JSON, or as text when it is not JSON or holds a lone surrogate escape
    /// (<c>\ud800</c>), which .NET cannot write again.
    /// </summary>
    public string PrettyBody()
    {
        try
        {
            return JsonNode.Parse(Body)?.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) ?? "";
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return Encoding.UTF8.GetString(Body);
        }
    }

    /// <summary>
    /// The body as a purge keeps it: JSON as it is when jsonb can hold it; anything else in base64
    /// (not JSON, or JSON with a NUL, a lone surrogate or a number jsonb refuses), so that it can
    /// always be written and is kept exactly.
    /// </summary>
    public JsonNode BodyToKeep()
    {
        try
        {
            using var document = JsonDocument.Parse(Body);
            if (JsonbValue.Problem(document.RootElement) is null)
            {
                return JsonNode.Parse(Body) ?? JsonValue.Create("");
            }
        }
        catch (JsonException)
        {
        }
        return new JsonObject { ["base64"] = Convert.ToBase64String(Body) };
    }

    /// <summary>
    /// The parts of a MassTransit envelope the Cli reads: <c>messageId</c> (a string, when there),
    /// <c>messageType</c> (a list of type names) and <c>message</c> (an object). Whoever can publish
    /// to an input queue can put any body there, and MassTransit dead-letters a body it cannot read
    /// as it came: one such message must not stop the verbs on every other. Returns what is wrong
    /// with the body, or null.
    /// </summary>
    static string? ReadEnvelope(byte[] body, out string? messageId, out string? messageType, out JsonElement? message)
    {
        const string notAnEnvelope = "its body is not a MassTransit envelope the Cli understands";
        (messageId, messageType, message) = (null, null, null);
        JsonElement envelope;
        try
        {
            using var document = JsonDocument.Parse(body);
            envelope = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return $"{notAnEnvelope} (not JSON)";
        }
        if (envelope.ValueKind != JsonValueKind.Object)
        {
            return $"{notAnEnvelope} (not a JSON object)";
        }
        if (Property(envelope, "messageId") is { ValueKind: not JsonValueKind.Null } id)
        {
            if (id.ValueKind != JsonValueKind.String || Text(id) is not { } text)
            {
                return $"{notAnEnvelope} (messageId is not a string)";
            }
            messageId = text;
        }
        if (Property(envelope, "messageType") is not { ValueKind: JsonValueKind.Array } types
            || types.GetArrayLength() == 0 || types[0].ValueKind != JsonValueKind.String || Text(types[0]) is not { } type)
        {
            return $"{notAnEnvelope} (messageType is not a list of type names)";
        }
        messageType = type;
        if (Property(envelope, "message") is not { ValueKind: JsonValueKind.Object } content)
        {
            return $"{notAnEnvelope} (no message object)";
        }
        message = content;
        return null;
    }

    static JsonElement? Property(JsonElement? parent, string name) =>
        parent is { ValueKind: JsonValueKind.Object } value && value.TryGetProperty(name, out var property) ? property : null;

    /// <summary>A string's text or a number as written; null for anything else.</summary>
    static string? Text(JsonElement? value) => value switch
    {
        { ValueKind: JsonValueKind.String } text => JsonText.Of(text),
        { ValueKind: JsonValueKind.Number } number => number.GetRawText(),
        _ => null,
    };

    static string? HeaderText(object? value) => value switch
    {
        null => null,
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        AmqpTimestamp { UnixTime: >= MinUnixTime and <= MaxUnixTime } timestamp =>
            DateTimeOffset.FromUnixTimeSeconds(timestamp.UnixTime).ToString("O", CultureInfo.InvariantCulture),
        AmqpTimestamp beyondTheCalendar => beyondTheCalendar.UnixTime.ToString(CultureInfo.InvariantCulture),
        IEnumerable<object?> list when value is not string => string.Join(", ", list.Select(HeaderText)),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    /// <summary><c>urn:message:PerazziSync.Contracts:BigCommerceOrderChanged</c> or a .NET type name → <c>BigCommerceOrderChanged</c>.</summary>
    static string? ShortTypeName(string? type)
    {
        if (string.IsNullOrEmpty(type))
        {
            return null;
        }
        var name = type.Split(',')[0];
        return name[(name.LastIndexOfAny([':', '.', '+']) + 1)..];
    }

    /// <summary>The key the sync knows the message's entity by, as parking and the audit log use it.</summary>
    static string? SourceKeyOf(string? messageType, JsonElement? message) => messageType switch
    {
        "BigCommerceOrderChanged" => Text(Property(message, "orderId")) is { } id ? $"order:{id}" : null,
        "BigCommerceCustomerChanged" => Text(Property(message, "customerId")) is { } id ? $"customer:{id}" : null,
        "PosServiceRecordReceived" => Text(Property(Property(message, "record"), "sourceRecordId")),
        _ => null,
    };
}
