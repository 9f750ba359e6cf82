using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.BigCommerce.Tests;

/// <summary>The product subscribed with <c>hooks ensure</c>, as an operator does it, then watched by the worker.</summary>
static class Subscribed
{
    public const string Destination = "https://perazzi.example/webhooks/bigcommerce";

    public static async Task EnsureAsync(ProductUnderTest product)
    {
        var (exitCode, output) = await HostProcess.RunAsync("PerazziSync.Cli", new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = product.Database.ConnectionString,
            ["BigCommerce__ApiBaseUrl"] = product.BigCommerce.BaseUrl,
            ["BigCommerce__StoreHash"] = ProductUnderTest.StoreHash,
            ["BigCommerce__AccessToken"] = FakeBigCommerce.AccessToken,
        }, "hooks", "ensure", "--destination", Destination);
        Assert.True(exitCode == 0, output);
        Assert.Equal(BigCommerceScopes.Subscribed.Count, product.BigCommerce.Hooks.Count);
    }

    public static long HookOf(ProductUnderTest product, string scope) =>
        product.BigCommerce.Hooks.Single(h => h["scope"]!.GetValue<string>() == scope)["id"]!.GetValue<long>();

    public static bool IsActive(ProductUnderTest product, long hookId) =>
        product.BigCommerce.Hooks.Single(h => h["id"]!.GetValue<long>() == hookId)["is_active"]!.GetValue<bool>();
}

/// <summary>The scheduled check re-activates a hook deactivated behind the product's back, and the reconciliation covers the gap.</summary>
public sealed class HookWatchTests : IAsyncLifetime
{
    ProductUnderTest _product = null!;

    public async Task InitializeAsync() =>
        _product = await ProductUnderTest.StartAsync(settings: new Dictionary<string, string>
        {
            ["BigCommerce__HooksCheckCron"] = "0/2 * * * * ?",
            ["BigCommerce__ReconcileCron"] = "0/3 * * * * ?",
            // A first reconciliation that looks back nothing: only the gap rule reaches the change below.
            ["BigCommerce__ReconcileFirstLookback"] = "00:00:00",
        });

    public async Task DisposeAsync() => await _product.DisposeAsync();

    [Fact]
    public async Task A_hook_deactivated_behind_the_products_back_is_reactivated_by_the_job_and_an_order_changed_meanwhile_arrives()
    {
        var store = _product.BigCommerce;
        await Subscribed.EnsureAsync(_product);
        var hook = Subscribed.HookOf(_product, "store/order/updated");

        store.DeactivateHook(hook);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        // Changed while its hook was off, so no callback came; BigCommerce dates it to the second.
        store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        store.PutOrder(BigCommerceFixtures.Order(601, 11, DateTimeOffset.UtcNow.AddSeconds(-1)), BigCommerceFixtures.Lines(601));

        await ProductUnderTest.EventuallyAsync($"hook {hook} re-activated", () => Task.FromResult(Subscribed.IsActive(_product, hook)), active => active, diagnostics: _product.Logs);
        var order = await ProductUnderTest.EventuallyAsync("order 601, changed while its hook was inactive", () => Rows.OrderAsync(_product, 601), o => o is not null, diagnostics: _product.Logs);
        Assert.Equal(PortalUsers.Jane, order!.UserId);

        await using var connection = await _product.OpenDatabaseAsync();
        var audit = (await connection.QueryAsync<(string Action, string ActorRole, string Trigger, string Scope)>("""
            select action, actor_role, metadata->>'trigger', metadata->>'scope' from audit_log where object_type = 'bigcommerce_hook' and object_id = @Hook
            """, new { Hook = hook.ToString(CultureInfo.InvariantCulture) })).ToList();
        Assert.Equal([("hooks.create", "operator", (string?)null, "store/order/updated"), ("hooks.activate", "service_role", "schedule", "store/order/updated")],
            audit.Select(a => (a.Action, a.ActorRole, (string?)a.Trigger, a.Scope)).ToList());
        Assert.True(store.BadRequests == 0, string.Join("\n", store.Refusals));
    }
}

/// <summary>
/// A <c>store/hook/deliveryException</c> callback has the worker check at once, without waiting
/// for the schedule (which never fires here); the state shows in its health and metrics.
/// </summary>
public sealed class HookDeliveryExceptionTests : IAsyncLifetime
{
    ProductUnderTest _product = null!;

    public async Task InitializeAsync() => _product = await ProductUnderTest.StartAsync();

    public async Task DisposeAsync() => await _product.DisposeAsync();

    /// <summary>The fixture's <c>store/hook/deliveryException</c> callback for <paramref name="hook"/>, from this store, five minutes ago.</summary>
    static JsonObject DeliveryException(long hook)
    {
        var callback = BigCommerceFixtures.Load("webhook-hook-deliveryException.json");
        callback["producer"] = $"stores/{ProductUnderTest.StoreHash}";
        callback["data"]!["id"] = hook;
        callback["data"]!["error_code"] = 90002;
        callback["created_at"] = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds();
        return callback;
    }

    [Fact]
    public async Task A_delivery_exception_triggers_the_check_which_reactivates_the_hook_and_reports_the_blocked_domain_with_its_reason()
    {
        var store = _product.BigCommerce;
        await Subscribed.EnsureAsync(_product);
        var hook = Subscribed.HookOf(_product, "store/order/created");
        store.DeactivateHook(hook);
        store.BlockDomain("perazzi.example", TimeSpan.FromHours(1),
            ("Non-200 response received when delivering to https://perazzi.example/webhooks/bigcommerce", 12, DateTimeOffset.UtcNow.AddMinutes(-30)));
        var callback = DeliveryException(hook);

        var response = await _product.BigCommerceWebhooks.SendAsync(callback.ToJsonString());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await ProductUnderTest.EventuallyAsync($"hook {hook} re-activated after the delivery exception", () => Task.FromResult(Subscribed.IsActive(_product, hook)), active => active, diagnostics: _product.Logs);

        var worker = _product.WorkerManagementUrls[0];
        using var http = new HttpClient();
        var health = await ProductUnderTest.EventuallyAsync(
            "the worker's readiness to report the blocked domain",
            async () => (await http.GetAsync(worker + "/health/ready"), await http.GetStringAsync(worker + "/health/ready")),
            h => h.Item2.Contains("blocked", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, health.Item1.StatusCode);
        var check = JsonNode.Parse(health.Item2)!["checks"]!["bigcommerce"]!;
        Assert.Equal("Degraded", check["status"]!.GetValue<string>());
        Assert.Contains("perazzi.example blocked until", check["description"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("Non-200 response received when delivering to https://perazzi.example/webhooks/bigcommerce ×12",
            check["description"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("Degraded", JsonNode.Parse(health.Item2)!["status"]!.GetValue<string>());

        Assert.Equal(1, await Metrics.ReadAsync(worker, "perazzisync_bigcommerce_hooks_blocked_domains"));
        Assert.Equal(1, await Metrics.ReadAsync(worker, "perazzisync_bigcommerce_hooks", "scope=\"store/order/created\"", "state=\"active\""));
        Assert.Equal(0, await Metrics.ReadAsync(worker, "perazzisync_bigcommerce_hooks", "scope=\"store/order/created\"", "state=\"inactive\""));
        // Counted once the consumer's check has ended, after the gauges it sets.
        await ProductUnderTest.EventuallyAsync("the delivery exception counted",
            () => Metrics.ReadAsync(worker, "perazzisync_bigcommerce_hooks_delivery_exceptions_total", "error_code=\"90002\""), n => n == 1,
            diagnostics: _product.Logs);

        // The reconciliation will list orders from before the failure on, whatever its watermark.
        await using var connection = await _product.OpenDatabaseAsync();
        var since = await connection.ExecuteScalarAsync<DateTime?>(
            "select since from perazzi_sync.reconcile_gaps where store_hash = @Store and entity_type = 'order'", new { Store = ProductUnderTest.StoreHash });
        var failedAt = DateTimeOffset.FromUnixTimeSeconds(callback["created_at"]!.GetValue<long>()).UtcDateTime;
        Assert.True(since is { } s && s.ToUniversalTime() <= failedAt, $"no order gap opened from the failure ({failedAt:O}) on: {since:O}");
        Assert.True(store.BadRequests == 0, string.Join("\n", store.Refusals));
    }

    [Fact]
    public async Task Retries_exhausted_open_the_gap_48_hours_4_minutes_before_the_exception_when_no_check_found_the_scope_delivering_since()
    {
        var store = _product.BigCommerce;
        // Made after the worker's check at start, which found no hook (none delivering): no check has seen them deliver.
        foreach (var scope in BigCommerceScopes.Subscribed)
        {
            store.AddHook(scope, Subscribed.Destination);
        }
        var callback = DeliveryException(Subscribed.HookOf(_product, "store/order/created"));
        callback["created_at"] = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds();

        Assert.Equal(HttpStatusCode.OK, (await _product.BigCommerceWebhooks.SendAsync(callback.ToJsonString())).StatusCode);

        await ProductUnderTest.EventuallyAsync("the delivery exception counted",
            () => Metrics.ReadAsync(_product.WorkerManagementUrls[0], "perazzisync_bigcommerce_hooks_delivery_exceptions_total", "error_code=\"90002\""), n => n == 1,
            diagnostics: _product.Logs);
        await using var connection = await _product.OpenDatabaseAsync();
        var since = await connection.ExecuteScalarAsync<DateTime>(
            "select since from perazzi_sync.reconcile_gaps where store_hash = @Store and entity_type = 'order'", new { Store = ProductUnderTest.StoreHash });
        var exhausted = DateTimeOffset.FromUnixTimeSeconds(callback["created_at"]!.GetValue<long>());
        Assert.Equal(exhausted - TimeSpan.FromHours(48) - TimeSpan.FromMinutes(4), new DateTimeOffset(DateTime.SpecifyKind(since, DateTimeKind.Utc)));
        Assert.True(store.BadRequests == 0, string.Join("\n", store.Refusals));
    }

    [Fact]
    public async Task Delivery_exceptions_with_error_codes_bigcommerce_does_not_send_are_counted_together_as_other()
    {
        var worker = _product.WorkerManagementUrls[0];
        foreach (var code in new[] { 4242, 4243, 90002 })
        {
            var callback = DeliveryException(777);
            callback["data"]!["error_code"] = code;
            Assert.Equal(HttpStatusCode.OK, (await _product.BigCommerceWebhooks.SendAsync(callback.ToJsonString())).StatusCode);
        }

        await ProductUnderTest.EventuallyAsync("the delivery exceptions counted",
            () => Metrics.ReadAsync(worker, "perazzisync_bigcommerce_hooks_delivery_exceptions_total"), n => n == 3, diagnostics: _product.Logs);
        Assert.Equal(2, await Metrics.ReadAsync(worker, "perazzisync_bigcommerce_hooks_delivery_exceptions_total", "error_code=\"other\""));
        Assert.Equal(1, await Metrics.ReadAsync(worker, "perazzisync_bigcommerce_hooks_delivery_exceptions_total", "error_code=\"90002\""));
        using var http = new HttpClient();
        Assert.DoesNotContain("error_code=\"424", await http.GetStringAsync(worker + "/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_delivery_exception_s_message_with_control_characters_is_logged_with_them_as_question_marks()
    {
        var callback = DeliveryException(777);
        callback["data"]!["message"] = "Non-200 response\u001b[31m\nwarn: forged line\u202e";

        Assert.Equal(HttpStatusCode.OK, (await _product.BigCommerceWebhooks.SendAsync(callback.ToJsonString())).StatusCode);

        var logs = await ProductUnderTest.EventuallyAsync("the worker's line about the delivery exception", () => Task.FromResult(_product.Logs()),
            l => l.Contains("Non-200 response?[31m?warn: forged line?", StringComparison.Ordinal), diagnostics: _product.Logs);
        Assert.DoesNotContain('\u001b', logs);
        Assert.DoesNotContain('\u202e', logs);
        Assert.DoesNotContain("\nwarn: forged", logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hook_deleted_before_the_check_could_reactivate_it_is_reported_missing_without_a_dead_letter_and_ensure_makes_it_again()
    {
        var store = _product.BigCommerce;
        await Subscribed.EnsureAsync(_product);
        var hook = Subscribed.HookOf(_product, "store/order/created");
        store.DeactivateHook(hook);
        // Someone deletes it between the check's listing and its re-activation.
        store.OnRequest = request =>
        {
            if (request.Method == "PUT" && request.Path.Value!.EndsWith($"/v3/hooks/{hook}", StringComparison.Ordinal))
            {
                store.RemoveHook(hook);
            }
            return Task.CompletedTask;
        };
        var response = await _product.BigCommerceWebhooks.SendAsync(DeliveryException(hook).ToJsonString());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var worker = _product.WorkerManagementUrls[0];
        await ProductUnderTest.EventuallyAsync("store/order/created reported missing",
            () => Metrics.ReadAsync(worker, "perazzisync_bigcommerce_hooks", "scope=\"store/order/created\"", "state=\"missing\""), n => n == 1,
            diagnostics: _product.Logs);
        // Counted once the consumer's check has ended, after the gauges it sets.
        await ProductUnderTest.EventuallyAsync("the delivery exception counted",
            () => Metrics.ReadAsync(worker, "perazzisync_bigcommerce_hooks_delivery_exceptions_total", "error_code=\"90002\""), n => n == 1,
            diagnostics: _product.Logs);
        Assert.Equal(0u, await _product.Broker.DeadLetteredAsync(Queues.BigCommerceHookDeliveryFailed));
        Assert.DoesNotContain(store.Hooks, h => h["id"]!.GetValue<long>() == hook);
        await using (var connection = await _product.OpenDatabaseAsync())
        {
            Assert.NotNull(await connection.ExecuteScalarAsync<DateTime?>(
                "select since from perazzi_sync.reconcile_gaps where store_hash = @Store and entity_type = 'order'", new { Store = ProductUnderTest.StoreHash }));
        }

        store.OnRequest = null;
        await Subscribed.EnsureAsync(_product);
        Assert.True(Subscribed.IsActive(_product, Subscribed.HookOf(_product, "store/order/created")));
        Assert.True(store.BadRequests == 0, string.Join("\n", store.Refusals));
    }
}

/// <summary>
/// A <c>store/hook/deliveryException</c> dated 1970 opens a gap no earlier than BigCommerce's
/// retries allow (docs/subscriptions.md): the reconciliation, firing every three seconds, lists
/// from that bound, not the store's whole history.
/// </summary>
public sealed class HookDeliveryExceptionBoundTests : IAsyncLifetime
{
    ProductUnderTest _product = null!;

    public async Task InitializeAsync() =>
        _product = await ProductUnderTest.StartAsync(settings: new Dictionary<string, string>
        {
            ["BigCommerce__ReconcileCron"] = "0/3 * * * * ?",
        });

    public async Task DisposeAsync() => await _product.DisposeAsync();

    [Fact]
    public async Task A_delivery_exception_dated_1970_has_the_reconciliation_list_from_49_hours_before_it_arrived_and_no_earlier()
    {
        var store = _product.BigCommerce;
        await Subscribed.EnsureAsync(_product);
        var listedFrom = store.RecordOrderListings();
        store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        // Beyond the first reconciliation's day, inside the bound: only the gap reaches it.
        store.PutOrder(BigCommerceFixtures.Order(601, 11, DateTimeOffset.UtcNow.AddHours(-30)), BigCommerceFixtures.Lines(601));
        store.PutOrder(BigCommerceFixtures.Order(602, 11, new DateTimeOffset(1990, 5, 1, 12, 0, 0, TimeSpan.Zero)), BigCommerceFixtures.Lines(602));
        var callback = BigCommerceFixtures.Load("webhook-hook-deliveryException.json");
        callback["producer"] = $"stores/{ProductUnderTest.StoreHash}";
        callback["data"]!["id"] = Subscribed.HookOf(_product, "store/order/created");
        callback["created_at"] = 86_400;
        // The bound is reckoned from the callback's arrival, a moment after this; the listing's date is to the second.
        var bound = DateTimeOffset.UtcNow - TimeSpan.FromHours(49) - TimeSpan.FromSeconds(1);

        var response = await _product.BigCommerceWebhooks.SendAsync(callback.ToJsonString());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var order = await ProductUnderTest.EventuallyAsync("order 601, changed 30 hours ago", () => Rows.OrderAsync(_product, 601), o => o is not null, diagnostics: _product.Logs);
        Assert.Equal(PortalUsers.Jane, order!.UserId);
        Assert.All(listedFrom, since => Assert.True(since >= bound, $"listed from {since:O}, before the bound {bound:O}"));
        Assert.Contains(listedFrom, since => since < bound + TimeSpan.FromSeconds(30));
        Assert.Null(await Rows.OrderAsync(_product, 602));
        await ProductUnderTest.EventuallyAsync("the bounded delivery exception counted",
            () => Metrics.ReadAsync(_product.WorkerManagementUrls[0], "perazzisync_bigcommerce_hooks_delivery_exceptions_bounded_total"), n => n == 1,
            diagnostics: _product.Logs);
        Assert.Contains(_product.Logs().Split('\n'), line =>
            line.Contains($"delivery exception for hook {callback["data"]!["id"]} dates the failure", StringComparison.Ordinal) && line.Contains("1970", StringComparison.Ordinal));
        Assert.True(store.BadRequests == 0, string.Join("\n", store.Refusals));
    }
}

/// <summary>
/// Dates the store gives for a quiet scope, the <c>updated_at</c> of an inactive hook no check had
/// seen and the failures of a blocked domain, of 1970: the worker's check at start opens a gap no
/// earlier than 49 hours before it (docs/subscriptions.md), and the reconciliation, firing every
/// three seconds, lists from there, not the store's whole history.
/// </summary>
public sealed class HookGapBoundTests : IAsyncLifetime
{
    static readonly DateTimeOffset Epoch = DateTimeOffset.UnixEpoch.AddDays(1);
    ProductUnderTest _product = null!;

    public async Task InitializeAsync() =>
        _product = await ProductUnderTest.StartAsync(workers: 0, settings: new Dictionary<string, string>
        {
            ["BigCommerce__ReconcileCron"] = "0/3 * * * * ?",
        });

    public async Task DisposeAsync() => await _product.DisposeAsync();

    [Fact]
    public Task An_inactive_hook_changed_in_1970_and_never_checked_opens_a_gap_from_49_hours_before_the_check() =>
        ListsFromTheBoundAsync("hook_updated_at", 1, store =>
        {
            foreach (var scope in BigCommerceScopes.Subscribed)
            {
                store.AddHook(scope, Subscribed.Destination, isActive: scope != "store/order/created",
                    updatedAt: scope == "store/order/created" ? Epoch : null);
            }
        });

    [Fact]
    public Task A_domain_blocked_for_failures_dated_1970_opens_a_gap_from_49_hours_before_the_check() =>
        // Every scope quiet: the order gap and the customer gap, each counted.
        ListsFromTheBoundAsync("blocked_domain", 2, store =>
        {
            foreach (var scope in BigCommerceScopes.Subscribed)
            {
                store.AddHook(scope, Subscribed.Destination);
            }
            store.BlockDomain("perazzi.example", TimeSpan.FromHours(1),
                ("Non-200 response received when delivering to https://perazzi.example/webhooks/bigcommerce", 12, Epoch));
        });

    async Task ListsFromTheBoundAsync(string source, int gaps, Action<FakeBigCommerce> quiet)
    {
        var store = _product.BigCommerce;
        var listedFrom = store.RecordOrderListings();
        store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        // Beyond the first reconciliation's day, inside the bound: only the gap reaches it.
        store.PutOrder(BigCommerceFixtures.Order(601, 11, DateTimeOffset.UtcNow.AddHours(-30)), BigCommerceFixtures.Lines(601));
        store.PutOrder(BigCommerceFixtures.Order(602, 11, new DateTimeOffset(1990, 5, 1, 12, 0, 0, TimeSpan.Zero)), BigCommerceFixtures.Lines(602));
        quiet(store);
        // The bound is reckoned from the check, a moment after this; the listing's date is to the second.
        var bound = DateTimeOffset.UtcNow - TimeSpan.FromHours(49) - TimeSpan.FromSeconds(1);

        await _product.StartWorkerAsync();

        var order = await ProductUnderTest.EventuallyAsync("order 601, changed 30 hours ago", () => Rows.OrderAsync(_product, 601), o => o is not null, diagnostics: _product.Logs);
        Assert.Equal(PortalUsers.Jane, order!.UserId);
        Assert.All(listedFrom, since => Assert.True(since >= bound, $"listed from {since:O}, before the bound {bound:O}"));
        Assert.Contains(listedFrom, since => since < bound + TimeSpan.FromSeconds(30));
        Assert.Null(await Rows.OrderAsync(_product, 602));
        Assert.Equal(gaps, await Metrics.ReadAsync(_product.WorkerManagementUrls[0], "perazzisync_bigcommerce_hooks_gaps_bounded_total", $"source=\"{source}\""));
        Assert.Contains(_product.Logs().Split('\n'), line =>
            line.Contains("store/order/created quiet from", StringComparison.Ordinal) && line.Contains("1970", StringComparison.Ordinal) && line.Contains(source, StringComparison.Ordinal));
        Assert.True(store.BadRequests == 0, string.Join("\n", store.Refusals));
    }
}

/// <summary>
/// A worker checks the subscriptions as it starts: a deployer reads in its health what the store's
/// hooks lack without waiting for the scheduled check (which never fires here).
/// </summary>
public sealed class HookCheckAtStartTests : IAsyncLifetime
{
    ProductUnderTest _product = null!;

    public async Task InitializeAsync() => _product = await ProductUnderTest.StartAsync(
        workers: 0, settings: new Dictionary<string, string> { ["BigCommerce__HooksCheckRetryAtStart"] = "00:00:03" });

    public async Task DisposeAsync() => await _product.DisposeAsync();

    [Fact]
    public async Task A_worker_started_against_a_store_with_a_missing_and_a_deactivated_hook_reports_and_heals_them_soon_after_start()
    {
        var store = _product.BigCommerce;
        await Subscribed.EnsureAsync(_product);
        var deactivated = Subscribed.HookOf(_product, "store/order/updated");
        store.DeactivateHook(deactivated);
        store.RemoveHook(Subscribed.HookOf(_product, "store/customer/deleted"));

        var started = System.Diagnostics.Stopwatch.StartNew();
        await _product.StartWorkerAsync();
        var worker = _product.WorkerManagementUrls[0];
        using var http = new HttpClient();
        var health = await ProductUnderTest.EventuallyAsync("the worker's readiness to report the missing hook",
            () => http.GetStringAsync(worker + "/health/ready"), h => h.Contains("store/customer/deleted: missing", StringComparison.Ordinal),
            diagnostics: _product.Logs);

        Assert.InRange(started.Elapsed, TimeSpan.Zero, TimeSpan.FromMinutes(1));
        var check = JsonNode.Parse(health)!["checks"]!["bigcommerce"]!;
        Assert.Equal("Degraded", check["status"]!.GetValue<string>());
        Assert.DoesNotContain("store/order/updated", check["description"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.True(Subscribed.IsActive(_product, deactivated));
        Assert.Equal(1, await Metrics.ReadAsync(worker, "perazzisync_bigcommerce_hooks", "scope=\"store/customer/deleted\"", "state=\"missing\""));
        await using var connection = await _product.OpenDatabaseAsync();
        var trigger = await connection.QuerySingleAsync<string>(
            "select metadata->>'trigger' from audit_log where action = 'hooks.activate' and object_id = @Hook",
            new { Hook = deactivated.ToString(CultureInfo.InvariantCulture) });
        Assert.Equal("startup", trigger);
        Assert.True(store.BadRequests == 0, string.Join("\n", store.Refusals));
    }

    [Fact]
    public async Task A_check_at_start_that_failed_is_tried_again_after_HooksCheckRetryAtStart_and_then_reports()
    {
        var store = _product.BigCommerce;
        // The first listing of the hooks refused: the check at start fails.
        store.FailNext(1, HttpStatusCode.Unauthorized);

        await _product.StartWorkerAsync();
        var worker = _product.WorkerManagementUrls[0];
        using var http = new HttpClient();
        var health = await http.GetStringAsync(worker + "/health/ready");

        Assert.Equal(1, store.FailuresSent);
        Assert.Equal((1, 1), (store.HookListings, store.HookAdminReads));
        Assert.Contains("store/order/created: missing", health, StringComparison.Ordinal);
        Assert.True(store.BadRequests == 0, string.Join("\n", store.Refusals));
    }
}
