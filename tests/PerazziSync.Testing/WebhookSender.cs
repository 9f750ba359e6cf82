using System.Net.Http.Headers;
using System.Text;
using StandardWebhooks;

namespace PerazziSync.Testing;

/// <summary>Posts callbacks the way a Standard Webhooks sender (BigCommerce, the POS) does.</summary>
public sealed class WebhookSender(HttpClient http, string url, string base64Secret)
{
    public const string BigCommerceClientSecret = "test-client-secret";

    /// <summary>The POS's Standard Webhooks secret in the tests (base64).</summary>
    public static readonly string PosSecret = Base64Secret("test-pos-secret");

    /// <summary>BigCommerce's webhook secret is the base64 of the app's client secret.</summary>
    public static string Base64Secret(string clientSecret) => Convert.ToBase64String(Encoding.UTF8.GetBytes(clientSecret));

    readonly StandardWebhook _webhook = new(base64Secret);

    public Task<HttpResponseMessage> SendAsync(string body, string? webhookId = null, DateTimeOffset? timestamp = null) =>
        http.SendAsync(SignedRequest(body, webhookId ?? "msg_" + Guid.NewGuid().ToString("N"), timestamp ?? DateTimeOffset.UtcNow));

    /// <summary>The <c>webhook-signature</c> header value for this delivery.</summary>
    public string Sign(string body, string webhookId, DateTimeOffset timestamp) => _webhook.Sign(webhookId, timestamp, body);

    public HttpRequestMessage SignedRequest(string body, string webhookId, DateTimeOffset timestamp, string contentType = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(body, Encoding.UTF8),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.Add("webhook-id", webhookId);
        request.Headers.Add("webhook-timestamp", timestamp.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", _webhook.Sign(webhookId, timestamp, body));
        return request;
    }
}
