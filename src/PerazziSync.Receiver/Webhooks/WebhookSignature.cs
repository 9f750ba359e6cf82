using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using StandardWebhooks;
using StandardWebhooks.Diagnostics;

namespace PerazziSync.Receiver.Webhooks;

/// <summary>Standard Webhooks verification (HMAC-SHA256 over id.timestamp.body, ±5 minutes).</summary>
/// <remarks>
/// The headers are checked here before the library sees them: it throws on some malformed
/// values (an empty signature after <c>v1,</c>) with exceptions that are not its verification
/// failure, and it is given only headers of the one shape it was written for.
/// </remarks>
sealed class WebhookSignature(string? secret)
{
    public const string IdHeader = "webhook-id";
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";

    /// <summary>How far a delivery's timestamp may be from the receiver's clock; the library's own window.</summary>
    public static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);

    const int MaxIdLength = 256;
    // Unix seconds fit in 11 digits until the year 5138; more is not a time a sender means.
    const int MaxTimestampDigits = 11;
    const int MaxSignatures = 8;
    const int MaxSignatureHeaderLength = 1024;
    // An HMAC-SHA256, the only scheme (v1) this receiver verifies.
    const int V1SignatureBytes = 32;

    readonly StandardWebhook? _webhook = string.IsNullOrEmpty(secret) ? null : new StandardWebhook(secret);

    public bool IsConfigured => _webhook is not null;

    /// <summary>
    /// Null when the signature and timestamp hold, else why not; <paramref name="signedAt"/> is the
    /// delivery's timestamp once it holds.
    /// </summary>
    public string? Verify(byte[] body, IHeaderDictionary headers, DateTimeOffset now, out DateTimeOffset signedAt)
    {
        signedAt = default;
        if (_webhook is null)
        {
            return "no webhook secret is configured for this route";
        }
        if ((Single(headers, IdHeader, out var id) ?? IdProblem(id)) is { } badId)
        {
            return badId;
        }
        if ((Single(headers, TimestampHeader, out var timestamp) ?? TimestampProblem(timestamp, now, out signedAt)) is { } badTimestamp)
        {
            return badTimestamp;
        }
        var v1 = "";
        if ((Single(headers, SignatureHeader, out var signatures) ?? V1Signatures(signatures, out v1)) is { } badSignature)
        {
            return badSignature;
        }

        var wellFormed = new HeaderDictionary
        {
            [IdHeader] = id,
            [TimestampHeader] = timestamp,
            [SignatureHeader] = v1,
        };
        try
        {
            _webhook.Verify(Encoding.UTF8.GetString(body), wellFormed);
            return null;
        }
        catch (WebhookVerificationException e)
        {
            return e.Message;
        }
        catch (Exception)
        {
            // The headers were checked above, so this should not happen; if the library still
            // throws on what a sender made, that sender gets a 401, never a 500.
            return "the signature could not be verified";
        }
    }

    public static bool HasSignatureHeaders(IHeaderDictionary headers) =>
        headers.ContainsKey(SignatureHeader) || headers.ContainsKey(TimestampHeader) || headers.ContainsKey(IdHeader);

    /// <summary>Why <paramref name="id"/> cannot be a delivery id; null when it can.</summary>
    public static string? IdProblem(string id) =>
        id.Length is > 0 and <= MaxIdLength && id.All(c => c is > ' ' and <= '~')
            ? null
            : $"the {IdHeader} header must be 1 to {MaxIdLength} printable ASCII characters without spaces";

    /// <summary>Compares a shared header value in constant time.</summary>
    public static bool SharedHeaderMatches(string expected, string? actual) =>
        // Hashing first makes the comparison's time independent of the lengths too.
        actual is not null
        && CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(expected)), SHA256.HashData(Encoding.UTF8.GetBytes(actual)));

    /// <summary>The header's one non-empty value, or why there is none.</summary>
    static string? Single(IHeaderDictionary headers, string name, out string value)
    {
        var values = headers[name];
        value = values.Count == 1 ? values[0] ?? "" : "";
        return values.Count switch
        {
            0 => $"the {IdHeader}, {TimestampHeader} and {SignatureHeader} headers are required; {name} is missing",
            > 1 => $"the {name} header must be sent once, not {values.Count} times",
            _ when value.Length == 0 => $"the {name} header is empty",
            _ => null,
        };
    }

    static string? TimestampProblem(string timestamp, DateTimeOffset now, out DateTimeOffset signedAt)
    {
        signedAt = default;
        if (timestamp.Length > MaxTimestampDigits || !timestamp.All(char.IsAsciiDigit)
            || !long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return $"the {TimestampHeader} header must be the Unix time in seconds, at most {MaxTimestampDigits} digits";
        }
        signedAt = DateTimeOffset.FromUnixTimeSeconds(seconds);
        if (signedAt < now - Tolerance)
        {
            return $"the {TimestampHeader} is more than {Tolerance.TotalMinutes:0} minutes old";
        }
        return signedAt > now + Tolerance
            ? $"the {TimestampHeader} is more than {Tolerance.TotalMinutes:0} minutes ahead of the receiver's clock"
            : null;
    }

    /// <summary>
    /// The header's <c>v1</c> signatures, space-separated, each the base64 of 32 bytes; or why the
    /// header is not a list of <c>version,base64</c> entries with at least one of them.
    /// </summary>
    static string? V1Signatures(string header, out string v1)
    {
        v1 = "";
        const string Shape = "a space-separated list of version,base64 entries";
        if (header.Length > MaxSignatureHeaderLength)
        {
            return $"the {SignatureHeader} header is longer than {MaxSignatureHeaderLength} characters";
        }
        if (!header.All(c => c is >= ' ' and <= '~'))
        {
            return $"the {SignatureHeader} header must be printable ASCII";
        }
        var entries = header.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (entries.Length == 0)
        {
            return $"the {SignatureHeader} header is empty";
        }
        if (entries.Length > MaxSignatures)
        {
            return $"the {SignatureHeader} header has {entries.Length} entries; at most {MaxSignatures} are read";
        }
        var matching = new List<string>(entries.Length);
        foreach (var entry in entries)
        {
            var comma = entry.IndexOf(',', StringComparison.Ordinal);
            if (comma <= 0 || comma == entry.Length - 1 || entry.IndexOf(',', comma + 1) >= 0)
            {
                return $"the {SignatureHeader} header must be {Shape}";
            }
            var version = entry[..comma];
            var signature = entry[(comma + 1)..];
            if (version[0] != 'v' || version.Length is < 2 or > 4 || !version.Skip(1).All(char.IsAsciiLetterOrDigit))
            {
                return $"the {SignatureHeader} header must be {Shape}; a version is v followed by up to 3 letters or digits";
            }
            var decoded = new byte[signature.Length];
            if (!Convert.TryFromBase64String(signature, decoded, out var length))
            {
                return $"the {SignatureHeader} header must be {Shape}; a signature is not base64";
            }
            if (version == "v1")
            {
                if (length != V1SignatureBytes)
                {
                    return $"the {SignatureHeader} header's v1 signature must be {V1SignatureBytes} bytes (HMAC-SHA256), not {length}";
                }
                matching.Add(entry);
            }
        }
        if (matching.Count == 0)
        {
            return $"the {SignatureHeader} header has no v1 (HMAC-SHA256) signature";
        }
        v1 = string.Join(' ', matching);
        return null;
    }
}
