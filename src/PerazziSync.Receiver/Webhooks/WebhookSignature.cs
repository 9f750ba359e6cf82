using System.Security.Cryptography;
using System.Text;
using StandardWebhooks;
using StandardWebhooks.Diagnostics;

namespace PerazziSync.Receiver.Webhooks;

/// <summary>Standard Webhooks verification (HMAC-SHA256 over id.timestamp.body, ±5 minutes).</summary>
sealed class WebhookSignature(string? secret)
{
    readonly StandardWebhook? _webhook = string.IsNullOrEmpty(secret) ? null : new StandardWebhook(secret);

    public bool IsConfigured => _webhook is not null;

    /// <summary>Null when the signature and timestamp hold, else why not.</summary>
    public string? Verify(byte[] body, IHeaderDictionary headers)
    {
        if (_webhook is null)
        {
            return "no webhook secret is configured for this route";
        }
        try
        {
            _webhook.Verify(Encoding.UTF8.GetString(body), headers);
            return null;
        }
        catch (WebhookVerificationException e)
        {
            return e.Message;
        }
        catch (FormatException)
        {
            return "the signature header is malformed";
        }
    }

    public static bool HasSignatureHeaders(IHeaderDictionary headers) =>
        headers.ContainsKey("webhook-signature") || headers.ContainsKey("webhook-timestamp") || headers.ContainsKey("webhook-id");

    /// <summary>Compares a shared header value in constant time.</summary>
    public static bool SharedHeaderMatches(string expected, string? actual) =>
        // Hashing first makes the comparison's time independent of the lengths too.
        actual is not null
        && CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(expected)), SHA256.HashData(Encoding.UTF8.GetBytes(actual)));
}
