using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace PerazziSync.Reliability.Tests;

/// <summary>
/// A generated bad request: what is wrong with it, its body and how it is sent; for a replay, the
/// <paramref name="Genuine"/> body its headers were signed for.
/// </summary>
sealed record BadRequest(string Kind, byte[] Body, string ContentType = "application/json", Signing Signing = Signing.Valid, byte[]? Genuine = null);

enum Signing
{
    Valid,
    WrongSecret,
    Missing,
    Stale,
    /// <summary>Headers of a genuine delivery, sent first, replayed with another body.</summary>
    ReplayedId,
}

/// <summary>Seeded generators of inputs a receiver or an import must refuse without harm.</summary>
static class BadInputs
{
    static readonly string[] PosStrings = ["source_record_id", "serial_number", "status", "updated_at", "service_date", "work_summary"];

    public static string ValidPos(int i) => new JsonObject
    {
        ["source_record_id"] = string.Create(CultureInfo.InvariantCulture, $"WO-FZ-{i:D5}"),
        ["serial_number"] = "HT-009871",
        ["status"] = "completed",
        ["service_date"] = "2026-03-14T16:00:00+01:00",
        ["work_summary"] = "Barrel regulation",
        ["attachments"] = new JsonArray("service/x.jpg"),
        ["updated_at"] = "2026-03-15T09:00:00+01:00",
    }.ToJsonString();

    public static string ValidBigCommerce(int i) => new JsonObject
    {
        ["created_at"] = 1_561_482_670,
        ["store_id"] = "1025646",
        ["producer"] = "stores/teststore",
        ["scope"] = "store/order/created",
        ["hash"] = "5a8ae2e7f8ff7b4a09ef4d3f0a8e2d6f2b6c6a1e",
        ["data"] = new JsonObject { ["type"] = "order", ["id"] = 1_000 + i },
    }.ToJsonString();

    /// <summary><paramref name="count"/> bad requests for a route whose valid bodies <paramref name="valid"/> makes.</summary>
    public static IEnumerable<BadRequest> For(bool pos, int count, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var valid = pos ? ValidPos(i) : ValidBigCommerce(i);
            yield return (i % 12) switch
            {
                0 => new BadRequest("truncated JSON", Utf8(valid[..random.Next(0, valid.Length - 1)])),
                1 => new BadRequest("garbled JSON", Garble(Utf8(valid), random)),
                2 => new BadRequest("wrong type", Utf8(pos ? WrongPosType(valid, random) : WrongBigCommerceType(valid, random))),
                3 => new BadRequest("huge string", Utf8(Huge(valid, pos, random))),
                4 => new BadRequest("deep nesting", Utf8(new string('[', 5_000 + random.Next(5_000)) + new string(']', 10))),
                5 => new BadRequest("invalid UTF-8", InvalidUtf8(valid, random)),
                6 => new BadRequest("wrong signature", Utf8(valid), Signing: Signing.WrongSecret),
                7 => new BadRequest("no signature", Utf8(valid), Signing: Signing.Missing),
                8 => new BadRequest("stale timestamp", Utf8(valid), Signing: Signing.Stale),
                9 => new BadRequest("replayed webhook-id, other body", Utf8(pos ? ValidPos(i + 1) : ValidBigCommerce(i + 1)), Signing: Signing.ReplayedId,
                    Genuine: Utf8(valid)),
                10 => new BadRequest("not JSON content", Utf8(valid), random.Next(2) == 0 ? "text/plain" : "application/x-www-form-urlencoded"),
                _ => new BadRequest("not an object", Utf8(random.Next(3) switch { 0 => "[]", 1 => "42", _ => "\"text\"" })),
            };
        }
    }

    /// <summary>
    /// An NDJSON export line (no line break in it) that is valid JSON, or nearly, but no record
    /// PostgreSQL can store or use: NUL, lone surrogates, numbers beyond numeric, a version
    /// without a time of day.
    /// </summary>
    public static (string Kind, byte[] Line) UnstorableNdjson(int i, Random random)
    {
        var valid = ValidPos(i);
        var open = valid[..^1];
        return (i % 9) switch
        {
            0 => ("escaped NUL in the id", Utf8(valid.Replace("WO-FZ-", "WO-FZ-\\u0000", StringComparison.Ordinal))),
            1 => ("raw NUL in a value", Utf8(valid.Replace("Barrel regulation", "Barrel\0regulation", StringComparison.Ordinal))),
            2 => ("escaped NUL in a key", Utf8(open + ",\"tech\\u0000nician\":\"x\"}")),
            3 => ("escaped NUL in the summary", Utf8(valid.Replace("Barrel regulation", "Barrel\\u0000regulation", StringComparison.Ordinal))),
            4 => ("lone high surrogate", Utf8(open + string.Create(CultureInfo.InvariantCulture, $",\"note\":\"\\u{random.Next(0xD800, 0xDC00):x4}!\"}}"))),
            5 => ("lone low surrogate in a key", Utf8(open + string.Create(CultureInfo.InvariantCulture, $",\"\\u{random.Next(0xDC00, 0xE000):x4}\":1}}"))),
            6 => ("surrogate escape as the id", Utf8(valid.Replace("WO-FZ-", "\\udfffWO-FZ-", StringComparison.Ordinal))),
            7 => ("number beyond numeric", Utf8(open + string.Create(CultureInfo.InvariantCulture,
                $",\"weight\":{(random.Next(2) == 0 ? "" : "-")}1e{(random.Next(2) == 0 ? "" : "-")}{random.Next(131_073, 999_999)}}}"))),
            _ => ("updated_at without a time of day", Utf8(WithUpdatedAt(valid, "2026-03-15"))),
        };
    }

    /// <summary>An NDJSON line longer than the 1 MiB limit of a record.</summary>
    public static byte[] OverlongNdjson(int i)
    {
        var node = JsonNode.Parse(ValidPos(i))!.AsObject();
        node["work_summary"] = new string('w', (1 << 20) + 1_000);
        return Utf8(node.ToJsonString());
    }

    static string WithUpdatedAt(string valid, string updatedAt)
    {
        var node = JsonNode.Parse(valid)!.AsObject();
        node["updated_at"] = updatedAt;
        return node.ToJsonString();
    }

    static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    static byte[] Garble(byte[] body, Random random)
    {
        while (true)
        {
            var copy = (byte[])body.Clone();
            for (var n = 1 + random.Next(4); n > 0; n--)
            {
                copy[random.Next(copy.Length)] = (byte)"{}[]:,\"\\"[random.Next(8)];
            }
            // A structural character inside a string can leave valid JSON: garble again then.
            try
            {
                using var _ = System.Text.Json.JsonDocument.Parse(copy);
            }
            catch (System.Text.Json.JsonException)
            {
                return copy;
            }
        }
    }

    static byte[] InvalidUtf8(string valid, Random random)
    {
        var bytes = Utf8(valid).ToList();
        byte[][] broken = [[0xC3, 0x28], [0xE2, 0x82], [0xF0, 0x28, 0x8C, 0x28], [0xFF], [0xC0, 0xAF]];
        // Inside a string value, so only the encoding is wrong.
        var at = valid.IndexOf(":\"", StringComparison.Ordinal) + 2;
        bytes.InsertRange(at, broken[random.Next(broken.Length)]);
        return [.. bytes];
    }

    static string Huge(string valid, bool pos, Random random)
    {
        var node = JsonNode.Parse(valid)!.AsObject();
        // Either just under the receiver's 256 KiB limit (must be refused by validation) or over it (413).
        var size = random.Next(2) == 0 ? 200_000 : 400_000;
        if (pos)
        {
            node[random.Next(2) == 0 ? "source_record_id" : "serial_number"] = new string('W', size);
        }
        else
        {
            node["data"]!["id"] = new string('9', size);
        }
        return node.ToJsonString();
    }

    static string WrongPosType(string valid, Random random)
    {
        var node = JsonNode.Parse(valid)!.AsObject();
        JsonNode?[] wrong = [12, true, new JsonObject(), new JsonArray(1, 2), "", "yesterday", 1.5];
        switch (random.Next(4))
        {
            case 0:
                node[PosStrings[random.Next(PosStrings.Length)]] = wrong[random.Next(4)]?.DeepClone();
                break;
            case 1:
                node["attachments"] = random.Next(2) == 0 ? "service/x.jpg" : new JsonArray(1, 2);
                break;
            case 2:
                node[random.Next(2) == 0 ? "updated_at" : "service_date"] = random.Next(2) == 0 ? "yesterday" : "2026-13-45T99:00:00Z";
                break;
            default:
                node.Remove(random.Next(3) switch { 0 => "source_record_id", 1 => "serial_number", _ => "updated_at" });
                break;
        }
        return node.ToJsonString();
    }

    static string WrongBigCommerceType(string valid, Random random)
    {
        var node = JsonNode.Parse(valid)!.AsObject();
        switch (random.Next(4))
        {
            case 0:
                node["data"]!["id"] = random.Next(5) switch { 0 => "abc", 1 => -5, 2 => 0, 3 => 1.5, _ => new JsonObject() };
                break;
            case 1:
                node["scope"] = random.Next(2) == 0 ? 7 : new JsonArray();
                break;
            case 2:
                node["data"] = random.Next(2) == 0 ? "order" : new JsonArray();
                break;
            default:
                node.Remove(random.Next(2) == 0 ? "scope" : "data");
                break;
        }
        return node.ToJsonString();
    }
}
