using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.BigCommerce.Tests;

/// <summary>The receiver's BigCommerce route against its contract (docs/sources.md), observed on the broker.</summary>
public sealed class BigCommerceWebhookTests(ReceiverFixture fixture) : IClassFixture<ReceiverFixture>
{
    const string StoreHash = ProductUnderTest.StoreHash;
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    ProductUnderTest Product => fixture.Product;

    string Url => Product.ReceiverUrl + "/webhooks/bigcommerce";

    [Fact]
    public async Task Signed_order_callback_is_published_once_with_a_message_id_derived_from_the_webhook_id()
    {
        var probe = await Product.Broker.ProbeAsync<BigCommerceOrderChanged>();
        var body = BigCommerceFixtures.Callback("webhook-order-created.json", StoreHash, 218);

        var first = await Product.BigCommerceWebhooks.SendAsync(body, "msg_retried");
        var retry = await Product.BigCommerceWebhooks.SendAsync(body, "msg_retried");
        var other = await Product.BigCommerceWebhooks.SendAsync(body, "msg_other");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        var published = await Product.Broker.DrainAsync(probe);
        Assert.Equal(2, published.Count);
        // The sender's retry, signed anew, is the same delivery: answered with the first one's message id, not published again.
        var retried = JsonNode.Parse(await retry.Content.ReadAsStringAsync())!;
        Assert.Equal("duplicate", retried["status"]!.GetValue<string>());
        Assert.Equal(published[0].MessageId, retried["messageId"]!.GetValue<string>());
        Assert.NotEqual(published[0].MessageId, published[1].MessageId);
        var message = JsonNode.Parse(published[0].Body)!["message"]!;
        Assert.Equal(218, message["orderId"]!.GetValue<long>());
        Assert.Equal("store/order/created", message["scope"]!.GetValue<string>());
        Assert.Equal("msg_retried", message["webhookId"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("webhook-order-updated.json", 250)]
    [InlineData("webhook-order-statusUpdated.json", 250)]
    [InlineData("webhook-order-archived.json", 250)]
    [InlineData("webhook-order-refund-created.json", 250)]
    [InlineData("webhook-order-statusUpdated-overview-variant.json", 173331)]
    [InlineData("webhook-order-updated-graphql-variant.json", 272)]
    public async Task Every_documented_order_callback_variant_is_accepted(string fixture, long orderId)
    {
        var probe = await Product.Broker.ProbeAsync<BigCommerceOrderChanged>();
        var callback = BigCommerceFixtures.Load(fixture);
        callback["producer"] = $"stores/{StoreHash}";

        var response = await Product.BigCommerceWebhooks.SendAsync(callback.ToJsonString());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var published = Assert.Single(await Product.Broker.DrainAsync(probe));
        Assert.Equal(orderId, JsonNode.Parse(published.Body)!["message"]!["orderId"]!.GetValue<long>());
    }

    [Fact]
    public async Task Store_id_as_a_number_and_a_missing_created_at_are_tolerated()
    {
        var probe = await Product.Broker.ProbeAsync<BigCommerceCustomerChanged>();
        var callback = BigCommerceFixtures.Load("webhook-customer-updated.json");
        callback["producer"] = $"stores/{StoreHash}";
        callback["store_id"] = 1025646;
        callback.Remove("created_at");
        callback["unexpected"] = new JsonObject { ["extra"] = true };

        var response = await Product.BigCommerceWebhooks.SendAsync(callback.ToJsonString());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var published = Assert.Single(await Product.Broker.DrainAsync(probe));
        Assert.Equal(32, JsonNode.Parse(published.Body)!["message"]!["customerId"]!.GetValue<long>());
    }

    [Theory]
    [InlineData("webhook-product-created.json")]
    [InlineData("webhook-cart-converted.json")]
    [InlineData("webhook-customer-address-created.json")]
    [InlineData("webhook-order-message-created.json")]
    public async Task Unhandled_scopes_are_acknowledged_and_not_published(string fixture)
    {
        var orders = await Product.Broker.ProbeAsync<BigCommerceOrderChanged>();
        var customers = await Product.Broker.ProbeAsync<BigCommerceCustomerChanged>();
        var callback = BigCommerceFixtures.Load(fixture);
        callback["producer"] = $"stores/{StoreHash}";

        var response = await Product.BigCommerceWebhooks.SendAsync(callback.ToJsonString());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("unhandled_scope", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(await Product.Broker.DrainAsync(orders));
        Assert.Empty(await Product.Broker.DrainAsync(customers));
    }

    [Fact]
    public async Task A_delivery_exception_is_published_with_the_hook_its_error_code_and_when_bigcommerce_raised_it()
    {
        var probe = await Product.Broker.ProbeAsync<BigCommerceHookDeliveryFailed>();
        var callback = BigCommerceFixtures.Load("webhook-hook-deliveryException.json");
        callback["producer"] = $"stores/{StoreHash}";

        var response = await Product.BigCommerceWebhooks.SendAsync(callback.ToJsonString(), "msg_delivery_exception");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var message = JsonNode.Parse(Assert.Single(await Product.Broker.DrainAsync(probe)).Body)!["message"]!;
        Assert.Equal(123, message["hookId"]!.GetValue<long>());
        Assert.Equal(90001, message["errorCode"]!.GetValue<int>());
        Assert.Equal("Non-200 response received when delivering to https://app.com/bc/webhook, will retry", message["description"]!.GetValue<string>());
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1561482670), message["occurredAt"]!.GetValue<DateTimeOffset>());
        Assert.Equal("msg_delivery_exception", message["webhookId"]!.GetValue<string>());
    }

    [Fact]
    public async Task Callback_from_another_store_is_acknowledged_and_not_published()
    {
        var probe = await Product.Broker.ProbeAsync<BigCommerceOrderChanged>();

        var response = await Product.BigCommerceWebhooks.SendAsync(
            BigCommerceFixtures.Callback("webhook-order-created.json", "someoneelse", 218));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("other_store", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(await Product.Broker.DrainAsync(probe));
    }

    [Fact]
    public async Task Bad_input_gets_its_status_and_nothing_is_published()
    {
        var probe = await Product.Broker.ProbeAsync<BigCommerceOrderChanged>();
        var body = BigCommerceFixtures.Callback("webhook-order-created.json", StoreHash, 218);
        var webhooks = Product.BigCommerceWebhooks;
        var wrongSecret = new WebhookSender(Http, Url, WebhookSender.Base64Secret("not-the-secret"));

        var badSignature = await wrongSecret.SendAsync(body);
        var staleTimestamp = await webhooks.SendAsync(body, timestamp: DateTimeOffset.UtcNow.AddMinutes(-6));
        var futureTimestamp = await webhooks.SendAsync(body, timestamp: DateTimeOffset.UtcNow.AddMinutes(6));
        var unsigned = await Http.PostAsync(Url, new StringContent(body, Encoding.UTF8, "application/json"));
        var tampered = await Http.SendAsync(Tamper(webhooks.SignedRequest(body, "msg_t", DateTimeOffset.UtcNow), body.Replace("218", "219", StringComparison.Ordinal)));
        var malformed = await webhooks.SendAsync("{\"scope\": \"store/order/created\", \"data\": {");
        var notAnObject = await webhooks.SendAsync("[1,2,3]");
        var missingId = await webhooks.SendAsync("{\"scope\":\"store/order/created\",\"producer\":\"stores/teststore\",\"data\":{\"type\":\"order\"}}");
        // Signed with the store's secret, but naming no store: as likely another store's as this one's.
        var noProducer = await webhooks.SendAsync("{\"scope\":\"store/order/created\",\"data\":{\"type\":\"order\",\"id\":218}}");
        var numericProducer = await webhooks.SendAsync("{\"scope\":\"store/order/created\",\"producer\":7,\"data\":{\"type\":\"order\",\"id\":218}}");
        var oversized = await webhooks.SendAsync(
            BigCommerceFixtures.Callback("webhook-order-created.json", StoreHash, 218).Replace("\"hash\"", $"\"padding\":\"{new string('x', 5000)}\",\"hash\"", StringComparison.Ordinal));
        var plainText = await Http.SendAsync(webhooks.SignedRequest(body, "msg_text", DateTimeOffset.UtcNow, "text/plain"));
        // Valid JSON whose strings escape half a surrogate pair: no text to read.
        var loneSurrogates = new[]
        {
            "{\"scope\":\"store/order/\\ud800\",\"producer\":\"stores/teststore\",\"data\":{\"type\":\"order\",\"id\":218}}",
            "{\"scope\":\"store/order/created\",\"producer\":\"stores/\\udc00\",\"data\":{\"type\":\"order\",\"id\":218}}",
            "{\"scope\":\"store/order/created\",\"producer\":\"stores/teststore\",\"data\":{\"type\":\"order\",\"id\":\"21\\ud8008\"}}",
        };
        var undecodable = new List<HttpResponseMessage>();
        foreach (var callback in loneSurrogates)
        {
            undecodable.Add(await webhooks.SendAsync(callback));
        }

        Assert.Equal(HttpStatusCode.Unauthorized, badSignature.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, staleTimestamp.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, futureTimestamp.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, tampered.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, notAnObject.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, missingId.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, oversized.StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, plainText.StatusCode);
        Assert.Contains("data.id", await missingId.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        foreach (var response in new[] { noProducer, numericProducer })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("must name the store as stores/<hash>", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        foreach (var response in undecodable)
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("lone UTF-16 surrogate", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Empty(await Product.Broker.DrainAsync(probe));
    }

    [Fact]
    public async Task A_compressed_body_or_a_charset_other_than_utf8_gets_415_saying_so_and_nothing_is_published()
    {
        var probe = await Product.Broker.ProbeAsync<BigCommerceOrderChanged>();
        var body = BigCommerceFixtures.Callback("webhook-order-created.json", StoreHash, 218);
        var webhooks = Product.BigCommerceWebhooks;
        var now = DateTimeOffset.UtcNow;

        // Labelled gzip but sent plain: its signature holds, and it must still not be read as JSON.
        var labelledOnly = webhooks.SignedRequest(body, "msg_gzip_label", now);
        labelledOnly.Content!.Headers.ContentEncoding.Add("gzip");
        var gzipped = webhooks.SignedRequest(body, "msg_gzip", now);
        gzipped.Content = Gzip(body);
        var encoded = new[] { await Http.SendAsync(labelledOnly), await Http.SendAsync(gzipped) };
        var charsets = new List<HttpResponseMessage>();
        foreach (var contentType in new[] { "application/json; charset=iso-8859-1", "application/json; charset=utf-16" })
        {
            charsets.Add(await Http.SendAsync(webhooks.SignedRequest(body, "msg_" + Guid.NewGuid().ToString("N"), now, contentType)));
        }
        var plain = webhooks.SignedRequest(body, "msg_identity", now, "application/json; charset=\"UTF-8\"");
        plain.Content!.Headers.ContentEncoding.Add("identity");
        var identity = await Http.SendAsync(plain);
        var alias = await Http.SendAsync(webhooks.SignedRequest(body, "msg_utf8_alias", now, "application/json; charset=utf8"));

        foreach (var response in encoded)
        {
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
            Assert.Contains("Content-Encoding 'gzip' is not accepted", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal("identity", response.Headers.GetValues("Accept-Encoding").Single());
        }
        foreach (var response in charsets)
        {
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
            Assert.Contains("charset=utf-8", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Equal(HttpStatusCode.OK, identity.StatusCode);
        Assert.Equal(HttpStatusCode.OK, alias.StatusCode);
        Assert.Equal(2, (await Product.Broker.DrainAsync(probe)).Count);
    }

    [Fact]
    public async Task A_body_that_stalls_or_breaks_its_chunks_gets_408_or_400_with_the_reason_not_an_unhandled_exception()
    {
        var probe = await Product.Broker.ProbeAsync<BigCommerceOrderChanged>();
        var body = BigCommerceFixtures.Callback("webhook-order-created.json", StoreHash, 218);
        var signed = Product.BigCommerceWebhooks.SignedRequest(body, "msg_stalled", DateTimeOffset.UtcNow);
        var headers = string.Concat(signed.Headers.Select(h => $"{h.Key}: {string.Join(",", h.Value)}\r\n"));

        // Five bytes of the body, then nothing: Kestrel gives up after its 5 s grace at 240 bytes/s.
        var stalled = RawAsync($"POST /webhooks/bigcommerce HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{headers}Content-Length: {body.Length}\r\n\r\n{body[..5]}");
        var brokenChunks = new List<string>();
        foreach (var route in new[] { "bigcommerce", "pos" })
        {
            brokenChunks.Add(await RawAsync($"POST /webhooks/{route} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n"));
        }

        var timedOut = await stalled;
        Assert.StartsWith("HTTP/1.1 408", timedOut, StringComparison.Ordinal);
        Assert.Contains("\"title\":\"request_timeout\"", timedOut, StringComparison.Ordinal);
        Assert.Contains("The body arrived too slowly", timedOut, StringComparison.Ordinal);
        Assert.All(brokenChunks, answer =>
        {
            Assert.StartsWith("HTTP/1.1 400", answer, StringComparison.Ordinal);
            Assert.Contains("\"title\":\"malformed\"", answer, StringComparison.Ordinal);
        });
        Assert.DoesNotContain("unhandled exception", Product.Receiver!.Output, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(await Product.Broker.DrainAsync(probe));
    }

    /// <summary>Sends <paramref name="request"/> as it is written and reads its answer: to the end of its chunked body, or until the receiver closes; at most 20 s.</summary>
    async Task<string> RawAsync(string request, string? receiverUrl = null)
    {
        var url = new Uri(receiverUrl ?? Product.ReceiverUrl);
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(url.Host, url.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var answer = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
        {
            answer.Write(buffer, 0, read);
            // The first answer is all a test reads; the receiver keeps a healthy connection open.
            if (Encoding.UTF8.GetString(answer.ToArray()).Contains("\r\n0\r\n\r\n", StringComparison.Ordinal))
            {
                break;
            }
        }
        return Encoding.UTF8.GetString(answer.ToArray());
    }

    [Fact]
    public async Task A_method_other_than_post_or_an_unknown_route_gets_405_or_404_with_a_problem_body()
    {
        var get = await Http.GetAsync(Url);
        var put = await Http.PutAsync(Product.ReceiverUrl + "/webhooks/pos", new StringContent("{}", Encoding.UTF8, "application/json"));
        var unknown = await Http.PostAsync(Product.ReceiverUrl + "/webhooks%2Fbigcommerce", new StringContent("{}", Encoding.UTF8, "application/json"));

        foreach (var (response, status) in new[] { (get, HttpStatusCode.MethodNotAllowed), (put, HttpStatusCode.MethodNotAllowed), (unknown, HttpStatusCode.NotFound) })
        {
            Assert.Equal(status, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal((int)status, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["status"]!.GetValue<int>());
        }
        Assert.Equal(["POST"], get.Content.Headers.Allow);
    }

    static ByteArrayContent Gzip(string body)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Fastest))
        {
            gzip.Write(Encoding.UTF8.GetBytes(body));
        }
        var content = new ByteArrayContent(compressed.ToArray());
        content.Headers.ContentType = new("application/json");
        content.Headers.ContentEncoding.Add("gzip");
        return content;
    }

    [Fact]
    public async Task A_scope_or_store_with_control_characters_is_logged_with_them_as_question_marks()
    {
        var scope = "store/x\u001b[31mFAKE\nwarn: forged line";
        var store = "stores/other\u202e\r\ninfo: forged too";
        var unhandled = await Product.BigCommerceWebhooks.SendAsync(new JsonObject
        {
            ["scope"] = scope, ["producer"] = $"stores/{StoreHash}", ["data"] = new JsonObject { ["id"] = 1 },
        }.ToJsonString());
        var otherStore = await Product.BigCommerceWebhooks.SendAsync(new JsonObject
        {
            ["scope"] = "store/order/created", ["producer"] = store, ["data"] = new JsonObject { ["id"] = 1 },
        }.ToJsonString());

        Assert.Contains("unhandled_scope", await unhandled.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("other_store", await otherStore.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var logs = await ProductUnderTest.EventuallyAsync("the receiver's lines about both callbacks", () => Task.FromResult(Product.Logs()),
            l => l.Contains("store/x?[31mFAKE?warn: forged line", StringComparison.Ordinal)
                && l.Contains("stores/other???info: forged too", StringComparison.Ordinal));
        Assert.DoesNotContain('\u001b', logs);
        Assert.DoesNotContain('\u202e', logs);
        Assert.DoesNotContain("\nwarn: forged", logs, StringComparison.Ordinal);
        Assert.DoesNotContain("\ninfo: forged", logs, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bigcommerce")]
    [InlineData("pos")]
    public async Task Replays_of_a_confirmed_signed_delivery_are_answered_200_as_duplicates_and_never_published_again(string route)
    {
        var pos = route == "pos";
        var probe = pos ? await Product.Broker.ProbeAsync<PosServiceRecordReceived>() : await Product.Broker.ProbeAsync<BigCommerceOrderChanged>();
        var body = pos
            ? PosCallbacks.Fixture()
            : BigCommerceFixtures.Callback("webhook-order-created.json", StoreHash, 218);
        var webhooks = pos ? Product.PosWebhooks : Product.BigCommerceWebhooks;
        var webhookId = $"msg_replayed_{route}";
        var signedAt = DateTimeOffset.UtcNow;
        // /metrics answers from a cache of up to 300 ms: let an earlier test's counts reach it first.
        await Task.Delay(TimeSpan.FromMilliseconds(400));
        var duplicatesBefore = await DuplicatesAsync(route);

        var genuine = await Http.SendAsync(webhooks.SignedRequest(body, webhookId, signedAt));
        Assert.Equal(HttpStatusCode.OK, genuine.StatusCode);
        var accepted = JsonNode.Parse(await genuine.Content.ReadAsStringAsync())!;
        Assert.Equal("accepted", accepted["status"]!.GetValue<string>());
        var published = Assert.Single(await Product.Broker.DrainAsync(probe));
        Assert.Equal(accepted["messageId"]!.GetValue<string>(), published.MessageId);

        // A captured delivery, replayed byte for byte (same headers, same body) while its timestamp is still good.
        var replays = new List<HttpResponseMessage>();
        for (var i = 0; i < 5; i++)
        {
            replays.Add(await Http.SendAsync(webhooks.SignedRequest(body, webhookId, signedAt)));
        }

        Assert.All(replays, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        foreach (var replay in replays)
        {
            var answer = JsonNode.Parse(await replay.Content.ReadAsStringAsync())!;
            Assert.Equal("duplicate", answer["status"]!.GetValue<string>());
            Assert.Equal(published.MessageId, answer["messageId"]!.GetValue<string>());
        }
        Assert.Empty(await Product.Broker.DrainAsync(probe));
        var expected = duplicatesBefore + replays.Count;
        Assert.Equal(expected, await ProductUnderTest.EventuallyAsync(
            $"{expected} duplicates counted on the {route} route", () => DuplicatesAsync(route), d => d >= expected, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task No_401_answer_names_the_configured_shared_header()
    {
        var body = BigCommerceFixtures.Callback("webhook-order-created.json", StoreHash, 218);
        var wrongSecret = new WebhookSender(Http, Url, WebhookSender.Base64Secret("not-the-secret"));
        var signedAndWrongHeader = wrongSecret.SignedRequest(body, "msg_both", DateTimeOffset.UtcNow);
        signedAndWrongHeader.Headers.Add(ReceiverFixture.SharedHeaderName, "guess");
        var emptyHeader = new HttpRequestMessage(HttpMethod.Post, Url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        emptyHeader.Headers.TryAddWithoutValidation(ReceiverFixture.SharedHeaderName, "");
        await using var headerOnly = await StartHeaderOnlyAsync();
        var headerOnlyUrl = headerOnly.ReceiverUrl + "/webhooks/bigcommerce";

        var answers = new[]
        {
            await Http.SendAsync(WithHeader(body, "guess")),
            await Http.SendAsync(emptyHeader),
            await Http.PostAsync(Url, new StringContent(body, Encoding.UTF8, "application/json")),
            await Http.SendAsync(signedAndWrongHeader),
            await Http.PostAsync(headerOnlyUrl, new StringContent(body, Encoding.UTF8, "application/json")),
            await Http.SendAsync(WithHeader(body, "guess", headerOnlyUrl)),
        };

        foreach (var answer in answers)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
            var text = await answer.Content.ReadAsStringAsync();
            Assert.DoesNotContain(ReceiverFixture.SharedHeaderName, text, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("\"detail\"", text, StringComparison.Ordinal);
        }
        // The operator still learns which header it was.
        Assert.Contains($"the {ReceiverFixture.SharedHeaderName} header does not match", Product.Receiver!.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Configured_shared_header_authenticates_instead_of_a_signature()
    {
        var probe = await Product.Broker.ProbeAsync<BigCommerceOrderChanged>();
        var body = BigCommerceFixtures.Callback("webhook-order-created.json", StoreHash, 218);

        var right = await Http.SendAsync(WithHeader(body, ReceiverFixture.SharedHeaderValue));
        var wrong = await Http.SendAsync(WithHeader(body, "guess"));

        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Single(await Product.Broker.DrainAsync(probe));
    }

    /// <summary>
    /// A product whose hooks carry only the shared header: without a secret, a webhook-id does not
    /// ask for a signature.
    /// </summary>
    static Task<ProductUnderTest> StartHeaderOnlyAsync() =>
        ProductUnderTest.StartAsync(workers: 0, settings: new Dictionary<string, string>
        {
            ["BigCommerce__WebhookSecret"] = "",
            ["BigCommerce__WebhookHeaderName"] = ReceiverFixture.SharedHeaderName,
            ["BigCommerce__WebhookHeaderValue"] = ReceiverFixture.SharedHeaderValue,
        });

    [Fact]
    public async Task Under_the_shared_header_a_reused_delivery_id_with_another_body_is_published_and_a_retry_is_not()
    {
        await using var headerOnly = await StartHeaderOnlyAsync();
        var probe = await headerOnly.Broker.ProbeAsync<BigCommerceOrderChanged>();
        var first = BigCommerceFixtures.Callback("webhook-order-created.json", StoreHash, 218);
        var other = BigCommerceFixtures.Callback("webhook-order-created.json", StoreHash, 219);

        var answers = new List<JsonNode>();
        foreach (var body in new[] { first, first, other, other })
        {
            var request = WithHeader(body, ReceiverFixture.SharedHeaderValue, headerOnly.ReceiverUrl + "/webhooks/bigcommerce");
            request.Headers.Add("webhook-id", "msg_reused");
            var answer = await Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            answers.Add(JsonNode.Parse(await answer.Content.ReadAsStringAsync())!);
        }

        // "accepted" is answered only once the broker confirmed the message into a queue.
        Assert.Equal(["accepted", "duplicate", "accepted", "duplicate"], answers.Select(a => a["status"]!.GetValue<string>()));
        var published = await headerOnly.Broker.DrainAsync(probe);
        Assert.Equal(2, published.Count);
        Assert.Equal([218L, 219L], published.Select(p => JsonNode.Parse(p.Body)!["message"]!["orderId"]!.GetValue<long>()).Order());
        Assert.All(published, p => Assert.Equal("msg_reused", JsonNode.Parse(p.Body)!["message"]!["webhookId"]!.GetValue<string>()));
        Assert.NotEqual(published[0].MessageId, published[1].MessageId);
        Assert.Equal([answers[0]["messageId"]!.GetValue<string>(), answers[2]["messageId"]!.GetValue<string>()], published.Select(p => p.MessageId));
    }

    [Fact]
    public async Task Under_the_shared_header_a_second_shared_header_or_webhook_id_gets_401_and_nothing_is_published()
    {
        await using var headerOnly = await StartHeaderOnlyAsync();
        var probe = await headerOnly.Broker.ProbeAsync<BigCommerceOrderChanged>();
        var body = BigCommerceFixtures.Callback("webhook-order-created.json", StoreHash, 218);
        var url = headerOnly.ReceiverUrl + "/webhooks/bigcommerce";

        // Each on a line of its own, as HttpClient would not send them: it joins the values of one name.
        string Twice(string name, string first, string second) =>
            $"POST /webhooks/bigcommerce HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
            (name == ReceiverFixture.SharedHeaderName ? "" : $"{ReceiverFixture.SharedHeaderName}: {ReceiverFixture.SharedHeaderValue}\r\n") +
            $"{name}: {first}\r\n{name}: {second}\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}";
        var idsAnswer = await RawAsync(Twice("webhook-id", "msg_one", "msg_two"), headerOnly.ReceiverUrl);
        var twoCredentials = new List<string>();
        foreach (var second in new[] { "guess", ReceiverFixture.SharedHeaderValue })
        {
            twoCredentials.Add(await RawAsync(Twice(ReceiverFixture.SharedHeaderName, ReceiverFixture.SharedHeaderValue, second), headerOnly.ReceiverUrl));
        }

        Assert.StartsWith("HTTP/1.1 401", idsAnswer, StringComparison.Ordinal);
        Assert.Contains("the webhook-id header must be sent once, not 2 times", idsAnswer, StringComparison.Ordinal);
        foreach (var answer in twoCredentials)
        {
            Assert.StartsWith("HTTP/1.1 401", answer, StringComparison.Ordinal);
            var text = answer[answer.IndexOf("\r\n\r\n", StringComparison.Ordinal)..];
            Assert.Contains("the credentials must be sent once", text, StringComparison.Ordinal);
            Assert.DoesNotContain(ReceiverFixture.SharedHeaderName, text, StringComparison.OrdinalIgnoreCase);
        }
        Assert.Contains($"the {ReceiverFixture.SharedHeaderName} header was sent 2 times", headerOnly.Receiver!.Output, StringComparison.Ordinal);
        Assert.Empty(await headerOnly.Broker.DrainAsync(probe));
    }

    HttpRequestMessage WithHeader(string body, string value, string? url = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url ?? Url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add(ReceiverFixture.SharedHeaderName, value);
        return request;
    }

    Task<double> DuplicatesAsync(string route) =>
        Metrics.ReadAsync(Product.ReceiverManagementUrl, "perazzisync_webhooks_received_total", "outcome=\"duplicate\"", $"route=\"{route}\"");

    static HttpRequestMessage Tamper(HttpRequestMessage signed, string otherBody)
    {
        signed.Content = new StringContent(otherBody, Encoding.UTF8, "application/json");
        return signed;
    }
}
