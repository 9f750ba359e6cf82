using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.BigCommerce.Tests;

/// <summary>
/// <c>perazzisync hooks status | ensure</c> against a store that keeps hooks as BigCommerce does;
/// every test ends with the store having refused none of the product's requests.
/// </summary>
public sealed class HookSubscriptionTests : IAsyncLifetime
{
    const string Destination = "https://perazzi.example/webhooks/bigcommerce";
    const string SharedHeader = "X-Perazzi-Hook";
    const string SharedValue = "shared-header-value";

    TestDatabase _database = null!;
    FakeBigCommerce _store = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateMigratedAsync();
        _store = await FakeBigCommerce.StartAsync(ProductUnderTest.StoreHash);
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        await _database.DisposeAsync();
    }

    Dictionary<string, string> Settings() => new()
    {
        ["ConnectionStrings__Postgres"] = _database.ConnectionString,
        ["BigCommerce__ApiBaseUrl"] = _store.BaseUrl,
        ["BigCommerce__StoreHash"] = ProductUnderTest.StoreHash,
        ["BigCommerce__AccessToken"] = FakeBigCommerce.AccessToken,
        ["BigCommerce__WebhookHeaderName"] = SharedHeader,
        ["BigCommerce__WebhookHeaderValue"] = SharedValue,
    };

    Task<(int ExitCode, string Output)> HooksAsync(params string[] arguments) =>
        HostProcess.RunAsync("PerazziSync.Cli", Settings(), ["hooks", .. arguments]);

    async Task<List<(string Action, string HookId, string Scope, string Operator, string OsUser, string Host, string DbUser)>> AuditAsync()
    {
        await using var connection = await _database.OpenAsync();
        return (await connection.QueryAsync<(string, string, string, string, string, string, string)>("""
            select action, object_id, metadata->>'scope', metadata->>'operator', metadata->>'os_user', metadata->>'host', metadata->>'db_session_user'
            from audit_log where object_type = 'bigcommerce_hook' order by created_at, metadata->>'scope'
            """)).AsList();
    }

    [Fact]
    public async Task A_store_that_cannot_be_reached_or_refuses_the_token_is_named_in_one_line_without_a_stack_trace()
    {
        var closed = LoopbackPort.Reserve();
        var unreachable = Settings();
        unreachable["BigCommerce__ApiBaseUrl"] = $"http://127.0.0.1:{closed}";
        var refusedToken = Settings();
        refusedToken["BigCommerce__AccessToken"] = "not-the-token";

        var away = await HostProcess.RunAsync("PerazziSync.Cli", unreachable, "hooks", "status");
        var refused = await HostProcess.RunAsync("PerazziSync.Cli", refusedToken, "hooks", "ensure", "--destination", Destination);

        Assert.True(away.ExitCode == 1, away.Output);
        Assert.Contains($"The request failed: Connection refused (127.0.0.1:{closed})", away.Output, StringComparison.Ordinal);
        Assert.True(refused.ExitCode == 1, refused.Output);
        Assert.Contains("BigCommerce answered 401 to GET stores/", refused.Output, StringComparison.Ordinal);
        foreach (var output in new[] { away.Output, refused.Output })
        {
            Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
            Assert.DoesNotContain("not-the-token", output, StringComparison.Ordinal);
        }
        Assert.Empty(await AuditAsync());
    }

    [Fact]
    public async Task A_store_without_hooks_ends_fully_subscribed_and_a_second_ensure_changes_nothing()
    {
        var dryRun = await HooksAsync("ensure", "--destination", "https://perazzi.example", "--dry-run");
        Assert.True(dryRun.ExitCode == 0, dryRun.Output);
        Assert.Equal(BigCommerceScopes.Subscribed.Count, dryRun.Output.Split('\n').Count(l => l.Contains("hooks.create", StringComparison.Ordinal)));
        Assert.Empty(_store.Hooks);
        Assert.Empty(await AuditAsync());

        var ensure = await HooksAsync("ensure", "--destination", "https://perazzi.example", "--as", "ops.anna");

        Assert.True(ensure.ExitCode == 0, ensure.Output);
        var hooks = _store.Hooks;
        Assert.Equal(BigCommerceScopes.Subscribed.Order(), hooks.Select(h => h["scope"]!.GetValue<string>()).Order());
        Assert.All(hooks, hook =>
        {
            Assert.Equal(Destination, hook["destination"]!.GetValue<string>());
            Assert.True(hook["is_active"]!.GetValue<bool>());
            Assert.Equal(SharedValue, hook["headers"]![SharedHeader]!.GetValue<string>());
        });
        var audit = await AuditAsync();
        Assert.Equal(hooks.Select(h => h["id"]!.ToString()).Order(), audit.Select(a => a.HookId).Order());
        Assert.All(audit, row =>
        {
            Assert.Equal("hooks.create", row.Action);
            Assert.Equal("ops.anna", row.Operator);
            Assert.Equal(Environment.UserName, row.OsUser);
            Assert.Equal(Environment.MachineName, row.Host);
            Assert.False(string.IsNullOrEmpty(row.DbUser));
        });
        var status = await HooksAsync("status");
        Assert.True(status.ExitCode == 0, status.Output);
        Assert.Contains("All well.", status.Output, StringComparison.Ordinal);

        var writes = _store.HookWrites;
        var again = await HooksAsync("ensure", "--destination", Destination, "--as", "ops.anna");

        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Contains("Nothing to change", again.Output, StringComparison.Ordinal);
        Assert.Equal(writes, _store.HookWrites);
        Assert.Equal(audit.Count, (await AuditAsync()).Count);
        Assert.True(_store.BadRequests == 0, string.Join("\n", _store.Refusals));
    }

    [Fact]
    public async Task Status_names_every_problem_ensure_fixes_what_the_store_can_and_the_blocked_domain_stays_reported_with_its_reason()
    {
        var header = new Dictionary<string, string> { [SharedHeader] = SharedValue };
        var inactive = _store.AddHook("store/order/created", Destination, isActive: false, headers: header);
        var moved = _store.AddHook("store/order/updated", "https://old-host.example/webhooks/bigcommerce", headers: header);
        var kept = _store.AddHook("store/order/statusUpdated", Destination, headers: header);
        var duplicate = _store.AddHook("store/order/statusUpdated", Destination, headers: header);
        var headerless = _store.AddHook("store/customer/created", Destination);
        var foreign = _store.AddHook("store/product/created", "https://another-app.example/hooks");
        _store.BlockDomain("perazzi.example", TimeSpan.FromHours(2),
            ("Non-200 response received when delivering to https://perazzi.example/webhooks/bigcommerce", 41, DateTimeOffset.UtcNow.AddMinutes(-20)));
        _store.SetNotificationEmails("ops@perazzi.example");

        var status = await HooksAsync("status", "--destination", Destination);

        Assert.True(status.ExitCode == 1, status.Output);
        var lines = status.Output.Split('\n');
        string Line(string scope) => lines.Single(l => l.Contains(scope + " ", StringComparison.Ordinal) && l.Contains('│'));
        Assert.Contains("inactive", Line("store/order/created"), StringComparison.Ordinal);
        Assert.Contains("wrong_destination", Line("store/order/updated"), StringComparison.Ordinal);
        Assert.Contains($"duplicate (hooks {duplicate})", Line("store/order/statusUpdated"), StringComparison.Ordinal);
        Assert.Contains("wrong_headers", Line("store/customer/created"), StringComparison.Ordinal);
        Assert.Contains("missing", Line("store/customer/deleted"), StringComparison.Ordinal);
        Assert.Contains("blocked (perazzi.example", Line("store/order/statusUpdated"), StringComparison.Ordinal);
        Assert.Matches(@"Blocked domain: perazzi\.example, 1 h 59 min left\.", status.Output);
        Assert.Contains("Non-200 response received when delivering to https://perazzi.example/webhooks/bigcommerce ×41", status.Output, StringComparison.Ordinal);
        Assert.Contains($"hook {foreign} store/product/created", status.Output, StringComparison.Ordinal);
        Assert.Contains("ops@perazzi.example", status.Output, StringComparison.Ordinal);

        var ensure = await HooksAsync("ensure", "--destination", Destination, "--as", "ops.anna");

        Assert.True(ensure.ExitCode == 0, ensure.Output);
        var audit = await AuditAsync();
        Assert.Equal((string[])["hooks.activate"], audit.Where(a => a.HookId == inactive.ToString()).Select(a => a.Action).ToArray());
        Assert.Equal((string[])["hooks.correct"], audit.Where(a => a.HookId == moved.ToString()).Select(a => a.Action).ToArray());
        Assert.Equal((string[])["hooks.correct"], audit.Where(a => a.HookId == headerless.ToString()).Select(a => a.Action).ToArray());
        Assert.Equal((string[])["hooks.delete"], audit.Where(a => a.HookId == duplicate.ToString()).Select(a => a.Action).ToArray());
        Assert.Equal(BigCommerceScopes.Subscribed.Count - 4, audit.Count(a => a.Action == "hooks.create"));
        Assert.DoesNotContain(audit, a => a.HookId == kept.ToString());
        var hooks = _store.Hooks;
        foreach (var scope in BigCommerceScopes.Subscribed)
        {
            var hook = Assert.Single(hooks, h => h["scope"]!.GetValue<string>() == scope);
            Assert.Equal(Destination, hook["destination"]!.GetValue<string>());
            Assert.True(hook["is_active"]!.GetValue<bool>(), scope);
            Assert.Equal(SharedValue, hook["headers"]![SharedHeader]!.GetValue<string>());
        }
        Assert.Equal("https://another-app.example/hooks", hooks.Single(h => h["id"]!.GetValue<long>() == foreign)["destination"]!.GetValue<string>());
        Assert.Contains("Still blocked by BigCommerce", ensure.Output, StringComparison.Ordinal);

        var after = await HooksAsync("status");

        Assert.True(after.ExitCode == 1, after.Output);
        Assert.Contains("Non-200 response received when delivering to https://perazzi.example/webhooks/bigcommerce ×41", after.Output, StringComparison.Ordinal);
        Assert.Contains("1 problem(s).", after.Output, StringComparison.Ordinal);
        Assert.True(_store.BadRequests == 0, string.Join("\n", _store.Refusals));
    }

    [Fact]
    public async Task A_create_BigCommerce_made_but_answered_502_is_not_sent_again_and_ends_as_one_hook_audited_once()
    {
        _store.LoseCreateAnswers(1, HttpStatusCode.BadGateway);

        var ensure = await HooksAsync("ensure", "--destination", Destination, "--as", "ops.anna");

        Assert.True(ensure.ExitCode == 0, ensure.Output);
        Assert.Equal(1, _store.CreateAnswersLost);
        var hooks = _store.Hooks;
        foreach (var scope in BigCommerceScopes.Subscribed)
        {
            Assert.Single(hooks, h => h["scope"]!.GetValue<string>() == scope);
        }
        Assert.Equal(BigCommerceScopes.Subscribed.Count, hooks.Count);
        var audit = await AuditAsync();
        Assert.All(audit, row => Assert.Equal("hooks.create", row.Action));
        Assert.Equal(hooks.Select(h => h["id"]!.ToString()).Order(), audit.Select(a => a.HookId).Order());
        Assert.Contains("BigCommerce answered 502 to POST", ensure.Output, StringComparison.Ordinal);

        var again = await HooksAsync("ensure", "--destination", Destination);

        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Contains("Nothing to change", again.Output, StringComparison.Ordinal);
        Assert.True(_store.BadRequests == 0, string.Join("\n", _store.Refusals));
    }

    [Fact]
    public async Task A_hook_deleted_between_the_review_and_its_correction_is_made_again()
    {
        var inactive = _store.AddHook("store/order/created", Destination, isActive: false, headers: new Dictionary<string, string> { [SharedHeader] = SharedValue });
        _store.OnRequest = request =>
        {
            if (request.Method == "PUT" && request.Path.Value!.EndsWith($"/v3/hooks/{inactive}", StringComparison.Ordinal))
            {
                _store.RemoveHook(inactive);
            }
            return Task.CompletedTask;
        };

        var ensure = await HooksAsync("ensure", "--destination", Destination);

        Assert.True(ensure.ExitCode == 0, ensure.Output);
        Assert.Contains($"Hook {inactive} (store/order/created) was deleted meanwhile", ensure.Output, StringComparison.Ordinal);
        var hook = Assert.Single(_store.Hooks, h => h["scope"]!.GetValue<string>() == "store/order/created");
        Assert.True(hook["is_active"]!.GetValue<bool>());
        Assert.Equal(BigCommerceScopes.Subscribed.Count, _store.Hooks.Count);
        var audit = await AuditAsync();
        Assert.All(audit, row => Assert.Equal("hooks.create", row.Action));
        Assert.Contains(audit, row => row.HookId == hook["id"]!.ToString());
        Assert.True(_store.BadRequests == 0, string.Join("\n", _store.Refusals));
    }

    [Theory]
    [InlineData("http://perazzi.example/webhooks/bigcommerce", "only over HTTPS")]
    [InlineData("https://perazzi.example:8443/webhooks/bigcommerce", "only to port 443")]
    [InlineData("perazzi.example", "not an absolute URL")]
    public async Task Ensure_refuses_a_destination_BigCommerce_would_refuse_and_says_why(string destination, string reason)
    {
        var ensure = await HooksAsync("ensure", "--destination", destination);

        Assert.Equal(2, ensure.ExitCode);
        Assert.Contains(reason, ensure.Output, StringComparison.Ordinal);
        Assert.Equal(0, _store.TotalRequests);
        Assert.Empty(_store.Hooks);
    }

    [Fact]
    public async Task The_fake_store_refuses_and_counts_every_hooks_request_its_spec_does_not_allow()
    {
        using var http = new HttpClient { BaseAddress = new Uri(_store.BaseUrl + $"/stores/{ProductUnderTest.StoreHash}/v3/") };
        async Task<HttpStatusCode> SendAsync(HttpMethod method, string path, string? body = null)
        {
            using var request = Request(method, path, body ?? "");
            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.UnprocessableEntity, await SendAsync(HttpMethod.Post, "hooks", """{"scope":"store/order/created","destination":"https://a.example/h","isActive":true}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, await SendAsync(HttpMethod.Post, "hooks", """{"scope":"store/order/created","destination":"http://a.example/h"}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, await SendAsync(HttpMethod.Post, "hooks", """{"scope":"store/order/created","destination":"https://a.example/h","is_active":"yes"}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, await SendAsync(HttpMethod.Post, "hooks", """{"scope":"store/order/created","destination":"https://a.example/h","headers":{"x":1}}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, await SendAsync(HttpMethod.Post, "hooks", """{"destination":"https://a.example/h"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, await SendAsync(HttpMethod.Get, "hooks?active=true"));
        Assert.Equal(HttpStatusCode.BadRequest, await SendAsync(HttpMethod.Get, "hooks?page=0"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, await SendAsync(HttpMethod.Patch, "hooks/1"));
        Assert.Equal(HttpStatusCode.NotFound, await SendAsync(HttpMethod.Get, "hooks/abc"));
        Assert.Equal(HttpStatusCode.BadRequest, await SendAsync(HttpMethod.Delete, "hooks/1", """{"id":1}"""));
        Assert.Equal(10, _store.BadRequests);

        var created = JsonNode.Parse(await (await http.SendAsync(Request(HttpMethod.Post, "hooks",
            """{"scope":"store/order/created","destination":"https://a.example/h"}"""))).Content.ReadAsStringAsync())!;
        var id = created["data"]!["id"]!.GetValue<long>();
        Assert.Equal(HttpStatusCode.UnprocessableEntity, await SendAsync(HttpMethod.Put, $"hooks/{id}", "{}"));
        Assert.Equal(11, _store.BadRequests);
        Assert.True(created["data"]!["is_active"]!.GetValue<bool>());
        Assert.Null(created["data"]!["headers"]);
        Assert.True(created["data"]!["created_at"]!.GetValue<long>() > 1_700_000_000);
        Assert.NotNull(created["meta"]);
    }

    static HttpRequestMessage Request(HttpMethod method, string path, string body)
    {
        var request = new HttpRequestMessage(method, path) { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-Auth-Token", FakeBigCommerce.AccessToken);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return request;
    }
}
