using System.Buffers;
using System.IO.Pipelines;
using System.Net.Mime;

namespace PerazziSync.Receiver.Webhooks;

/// <summary>Reads a callback's body within the size limit, after checking its content type and coding.</summary>
static class WebhookBody
{
    /// <summary>The body, or the 413/415 rejection (or 408/400 from the server's reading of it) that stops the request.</summary>
    public static async Task<(byte[]? Body, Rejection? Rejection)> ReadAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (!IsUtf8Json(request.ContentType))
        {
            return (null, new(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type",
                $"Content-Type must be {MediaTypeNames.Application.Json}, with no charset or charset=utf-8, not '{request.ContentType}'."));
        }
        // The signature is over the bytes as sent, and the body is read as they are: a compressed
        // body is refused, never verified or parsed as if it were JSON (docs/security-model.md).
        var coding = request.Headers.ContentEncoding;
        if (coding.Any(c => !string.Equals(c?.Trim(), "identity", StringComparison.OrdinalIgnoreCase)))
        {
            request.HttpContext.Response.Headers.AcceptEncoding = "identity";
            return (null, new(StatusCodes.Status415UnsupportedMediaType, "unsupported_content_encoding",
                $"Content-Encoding '{coding}' is not accepted: send the body uncompressed."));
        }
        if (request.ContentLength > maxBytes)
        {
            return (null, TooLarge(maxBytes));
        }
        var reader = request.BodyReader;
        while (true)
        {
            ReadResult read;
            try
            {
                read = await reader.ReadAsync(cancellationToken);
            }
            catch (BadHttpRequestException e)
            {
                // The server gave up on the body: too slow (Kestrel's minimum data rate), broken
                // chunked framing, or over its own limit. Answered with the reason, as every other
                // refusal, not as an unhandled exception (docs/failures.md).
                return (null, e.StatusCode == StatusCodes.Status408RequestTimeout
                    ? new(e.StatusCode, "request_timeout", "The body arrived too slowly and was not read; send it at once.")
                    : new(e.StatusCode, e.StatusCode == StatusCodes.Status413PayloadTooLarge ? "payload_too_large" : "malformed", e.Message));
            }
            if (read.Buffer.Length > maxBytes)
            {
                reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                return (null, TooLarge(maxBytes));
            }
            if (read.IsCompleted)
            {
                var body = read.Buffer.ToArray();
                reader.AdvanceTo(read.Buffer.End);
                return (body, null);
            }
            reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    /// <summary>The 400 for a body that is not UTF-8 text, as JSON must be (RFC 8259); null when it is.</summary>
    public static Rejection? NotUtf8(byte[] body) =>
        System.Text.Unicode.Utf8.IsValid(body)
            ? null
            : new(StatusCodes.Status400BadRequest, "malformed", "The body is not valid UTF-8.");

    static Rejection TooLarge(int maxBytes) =>
        new(StatusCodes.Status413PayloadTooLarge, "payload_too_large", $"The body is larger than {maxBytes} bytes.");

    /// <summary>JSON is UTF-8 (RFC 8259): a charset may only say so (<c>utf-8</c>, or <c>utf8</c> as many senders write it).</summary>
    static bool IsUtf8Json(string? contentType) =>
        contentType is not null
        && System.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var parsed)
        && string.Equals(parsed.MediaType, MediaTypeNames.Application.Json, StringComparison.OrdinalIgnoreCase)
        && (parsed.CharSet is null || parsed.CharSet.Trim('"').ToUpperInvariant() is "UTF-8" or "UTF8");
}

/// <summary>Why a callback was refused: its status, a short reason code and a sentence for the sender.</summary>
sealed record Rejection(int Status, string Reason, string Detail)
{
    public IResult ToResult() => TypedResults.Problem(detail: Detail, statusCode: Status, title: Reason);
}
