using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using StandardWebhooks;
using Xunit;
using Xunit.Abstractions;

namespace PerazziSync.Reliability.Tests;

/// <summary>
/// Every combination of absent, empty, garbage and malformed authentication headers, on both
/// routes: a 401 each, never a 5xx, nothing published, no answer naming the shared header, and a
/// receiver that still takes genuine callbacks afterwards.
/// </summary>
public sealed class AuthenticationHeaderFuzzTests(ITestOutputHelper output)
{
    const string SharedHeaderName = "X-Perazzi-Hook";
    const string SharedHeaderValue = "shared-header-value";
    const string GenuineId = "msg_genuine";

    [Fact]
    public async Task Every_combination_of_bad_authentication_headers_is_a_401_that_publishes_nothing()
    {
        await using var product = await ProductUnderTest.StartAsync(workers: 0, settings: new Dictionary<string, string>
        {
            ["BigCommerce__WebhookHeaderName"] = SharedHeaderName,
            ["BigCommerce__WebhookHeaderValue"] = SharedHeaderValue,
        });
        var probes = new[]
        {
            await product.Broker.ProbeAsync<BigCommerceOrderChanged>(),
            await product.Broker.ProbeAsync<BigCommerceCustomerChanged>(),
            await product.Broker.ProbeAsync<PosServiceRecordReceived>(),
        };
        var now = DateTimeOffset.UtcNow;
        var requests = Combinations(pos: true, now).Concat(Combinations(pos: false, now)).ToList();
        var answers = new (int Status, string Body)[requests.Count];

        await Parallel.ForAsync(0, requests.Count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, cancellationToken) =>
            answers[i] = await PostAsync(new Uri(product.ReceiverUrl), requests[i], cancellationToken));

        var unexpected = requests.Select((r, i) => (r.Description, answers[i].Status, answers[i].Body))
            .Where(a => a.Status != 401 || a.Body.Contains(SharedHeaderName, StringComparison.OrdinalIgnoreCase))
            .ToList();
        output.WriteLine($"{requests.Count} requests: " + string.Join(", ", answers.GroupBy(a => a.Status).Select(g => $"{g.Count()} x {g.Key}")));
        output.WriteLine(string.Join('\n', answers.GroupBy(a => (a.Status, Detail(a.Body))).OrderByDescending(g => g.Count())
            .Select(g => $"{g.Count(),5} x {g.Key.Status} {g.Key.Item2}")));
        Assert.True(unexpected.Count == 0, $"{unexpected.Count} answers were not a 401 without the shared header's name, e.g.\n"
            + string.Join('\n', unexpected.Take(10).Select(u => $"{u.Status} {u.Description}: {u.Body}")));
        foreach (var probe in probes)
        {
            Assert.Equal(0u, await product.Broker.MessagesAsync(probe));
        }
        Assert.Equal(requests.Count, await ProductUnderTest.EventuallyAsync(
            $"{requests.Count} unauthorized rejections counted on /metrics",
            () => Metrics.ReadAsync(product.ReceiverManagementUrl, "perazzisync_webhooks_received_total", "outcome=\"rejected\"", "reason=\"unauthorized\""),
            count => count >= requests.Count, TimeSpan.FromSeconds(10)));
        Assert.False(product.Receiver!.HasExited);
        Assert.DoesNotContain("unhandled exception", product.Receiver.Output, StringComparison.OrdinalIgnoreCase);

        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(product.ReceiverManagementUrl + "/health/ready")).StatusCode);
        // Still serving genuine callbacks, which the probes see.
        Assert.Equal(HttpStatusCode.OK, (await product.PosWebhooks.SendAsync(PosBody)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await product.BigCommerceWebhooks.SendAsync(BigCommerceBody)).StatusCode);
        Assert.Equal(1u, await product.Broker.MessagesAsync(probes[0]));
        Assert.Equal(0u, await product.Broker.MessagesAsync(probes[1]));
        Assert.Equal(1u, await product.Broker.MessagesAsync(probes[2]));
    }

    static string PosBody => PosCallbacks.Fixture();

    static string BigCommerceBody => BigCommerceFixtures.Callback("webhook-order-created.json", ProductUnderTest.StoreHash, 218);

    /// <summary>
    /// A value of one header: none, or the lines sent for it (two for a duplicated header), given
    /// the delivery's id, timestamp and body so a signature can be genuine for them.
    /// </summary>
    sealed record HeaderValue(string Name, Func<Delivery, string[]?> Lines);

    sealed record Delivery(string Id, long Timestamp, string Body, string Secret);

    sealed record FuzzRequest(string Path, string Description, IReadOnlyList<(string Name, string Value)> Headers, string Body);

    static readonly HeaderValue[] Ids =
    [
        new("absent", _ => null),
        new("empty", _ => [""]),
        new("genuine", _ => [GenuineId]),
        new("spaces inside", _ => ["msg with spaces"]),
        new("non-ASCII", _ => ["msg_é_日本"]),
        new("too long", _ => [new string('m', 300)]),
        new("duplicated", _ => [GenuineId, GenuineId]),
    ];

    static readonly HeaderValue[] Timestamps =
    [
        new("absent", _ => null),
        new("empty", _ => [""]),
        new("genuine", d => [Seconds(d.Timestamp)]),
        new("not a number", _ => ["yesterday"]),
        new("plus sign", d => ["+" + Seconds(d.Timestamp)]),
        new("overflowing", _ => ["99999999999999999999999999"]),
        new("stale", d => [Seconds(d.Timestamp - 600)]),
        new("duplicated", d => [Seconds(d.Timestamp), Seconds(d.Timestamp)]),
    ];

    static readonly HeaderValue[] Signatures =
    [
        new("absent", _ => null),
        new("empty", _ => [""]),
        new("genuine", d => [Sign(d)]),
        new("'v1,'", _ => ["v1,"]),
        new("'v1'", _ => ["v1"]),
        new("','", _ => [","]),
        new("'v2,abc'", _ => ["v2,abc"]),
        new("only spaces", _ => ["     "]),
        new("not base64", _ => ["v1,@@@not*base64@@@"]),
        new("non-ASCII", _ => ["v1,é" + Convert.ToBase64String(new byte[32])]),
        new("many entries", d => [string.Join(' ', Enumerable.Repeat("v1," + Convert.ToBase64String(new byte[32]), 60).Append(Sign(d)))]),
        new("wrong secret", d => [new StandardWebhook(WebhookSender.Base64Secret("not the secret")).Sign(d.Id, DateTimeOffset.FromUnixTimeSeconds(d.Timestamp), d.Body)]),
        new("duplicated", d => [Sign(d), Sign(d)]),
    ];

    static readonly HeaderValue[] SharedHeaders =
    [
        new("absent", _ => null),
        new("empty", _ => [""]),
        new("wrong", _ => ["guess"]),
        new("right", _ => [SharedHeaderValue]),
    ];

    /// <summary>Every combination on one route, except those that authenticate a genuine delivery.</summary>
    static IEnumerable<FuzzRequest> Combinations(bool pos, DateTimeOffset now)
    {
        var delivery = pos
            ? new Delivery(GenuineId, now.ToUnixTimeSeconds(), PosBody, WebhookSender.PosSecret)
            : new Delivery(GenuineId, now.ToUnixTimeSeconds(), BigCommerceBody, WebhookSender.Base64Secret(WebhookSender.BigCommerceClientSecret));
        var shared = pos ? [new HeaderValue("absent", _ => null)] : SharedHeaders;
        foreach (var id in Ids)
        foreach (var timestamp in Timestamps)
        foreach (var signature in Signatures)
        foreach (var sharedHeader in shared)
        {
            var signed = (id.Name, timestamp.Name, signature.Name) == ("genuine", "genuine", "genuine");
            var unsignedWithHeader = (id.Name, timestamp.Name, signature.Name, sharedHeader.Name) == ("absent", "absent", "absent", "right");
            if (signed || unsignedWithHeader)
            {
                continue;
            }
            var headers = new List<(string, string)>();
            foreach (var (name, value) in new[]
            {
                ("webhook-id", id), ("webhook-timestamp", timestamp), ("webhook-signature", signature), (SharedHeaderName, sharedHeader),
            })
            {
                headers.AddRange((value.Lines(delivery) ?? []).Select(line => (name, line)));
            }
            yield return new FuzzRequest(
                pos ? "/webhooks/pos" : "/webhooks/bigcommerce",
                $"{(pos ? "pos" : "bigcommerce")}, id {id.Name}, timestamp {timestamp.Name}, signature {signature.Name}, shared header {sharedHeader.Name}",
                headers,
                delivery.Body);
        }
    }

    static string? Detail(string body)
    {
        try
        {
            return JsonNode.Parse(body)?["detail"]?.GetValue<string>();
        }
        catch (JsonException)
        {
            return body;
        }
    }

    static string Seconds(long seconds) => seconds.ToString(CultureInfo.InvariantCulture);

    static string Sign(Delivery d) => new StandardWebhook(d.Secret).Sign(d.Id, DateTimeOffset.FromUnixTimeSeconds(d.Timestamp), d.Body);

    /// <summary>
    /// Sends the request over a socket of its own, byte for byte: an HTTP client would merge
    /// duplicated headers into one line and refuse non-ASCII values.
    /// </summary>
    static async Task<(int Status, string Body)> PostAsync(Uri receiver, FuzzRequest request, CancellationToken cancellationToken)
    {
        var body = Encoding.UTF8.GetBytes(request.Body);
        var head = new StringBuilder()
            // HTTP/1.0: the answer ends with the connection, never chunked.
            .Append(CultureInfo.InvariantCulture, $"POST {request.Path} HTTP/1.0\r\nHost: {receiver.Authority}\r\n")
            .Append(CultureInfo.InvariantCulture, $"Content-Type: application/json\r\nContent-Length: {body.Length}\r\n");
        foreach (var (name, value) in request.Headers)
        {
            head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }
        head.Append("\r\n");
        using var client = new TcpClient();
        await client.ConnectAsync(receiver.Host, receiver.Port, cancellationToken);
        await using var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(head.ToString()), cancellationToken);
        await stream.WriteAsync(body, cancellationToken);
        using var answer = new MemoryStream();
        await stream.CopyToAsync(answer, cancellationToken);
        var text = Encoding.UTF8.GetString(answer.ToArray());
        var status = int.Parse(text.Split(' ', 3)[1], CultureInfo.InvariantCulture);
        var bodyStart = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return (status, bodyStart < 0 ? "" : text[(bodyStart + 4)..]);
    }
}
