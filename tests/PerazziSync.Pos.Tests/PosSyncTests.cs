using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Pos.Tests;

/// <summary>Receiver and worker as processes: the POS callback route and the re-match of parked records.</summary>
public sealed class PosSyncTests : IAsyncLifetime
{
    ProductUnderTest _product = null!;

    public async Task InitializeAsync()
    {
        _product = await ProductUnderTest.StartAsync();
        var (exitCode, output) = await HostProcess.RunAsync("PerazziSync.Cli", new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = _product.Database.ConnectionString,
        }, "pos", "import", Path.Combine(AppContext.BaseDirectory, "fixtures", "pos", "export-sample.csv"));
        Assert.True(exitCode == 0, output);
    }

    public async Task DisposeAsync() => await _product.DisposeAsync();

    /// <summary>The outcomes the worker logged for the callbacks of this work order, in order.</summary>
    List<string> Outcomes(string workOrder)
    {
        var marker = $"POS record {workOrder}: ";
        return _product.Logs().Split('\n')
            .Where(line => line.Contains(marker, StringComparison.Ordinal))
            .Select(line => line[(line.IndexOf(marker, StringComparison.Ordinal) + marker.Length)..].Trim())
            .ToList();
    }

    /// <summary>Waits until the worker has logged <paramref name="count"/> outcomes for the work order: it logs each once its transaction is over.</summary>
    async Task OutcomesAsync(string workOrder, int count) =>
        await ProductUnderTest.EventuallyAsync(
            $"the worker's outcome for delivery {count} of {workOrder}", () => Task.FromResult(Outcomes(workOrder)), o => o.Count >= count,
            diagnostics: _product.Logs);

    /// <summary>
    /// Waits until a firing of the re-match job scheduled after <paramref name="since"/> has
    /// finished: the job never runs twice at once, so once the firing after it is claimed, it is over.
    /// </summary>
    async Task RematchRanSinceAsync(NpgsqlConnection connection, DateTime since) =>
        await ProductUnderTest.EventuallyAsync(
            $"two firings of the re-match job scheduled after {since:O}",
            () => connection.ExecuteScalarAsync<long>(
                "select count(*) from perazzi_sync.job_firings where job_name = 'pos-rematch' and scheduled_at > @Since", new { Since = since }),
            firings => firings >= 2, TimeSpan.FromSeconds(20), _product.Logs);

    static string Callback() =>
        PosCallbacks.Fixture();

    [Fact]
    public async Task Signed_callback_updates_its_work_order_through_the_broker_with_one_audit_row()
    {
        await using var connection = await _product.OpenDatabaseAsync();
        var auditBefore = await ServiceEvents.AuditCountAsync(connection, "WO-2026-0007");

        var response = await _product.PosWebhooks.SendAsync(Callback());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await OutcomesAsync("WO-2026-0007", 1);
        Assert.Equal(["applied"], Outcomes("WO-2026-0007"));
        Assert.Contains("target.jpg", (await ServiceEvents.AllAsync(connection))["WO-2026-0007"].Attachments, StringComparison.Ordinal);
        Assert.Equal(auditBefore + 1, await ServiceEvents.AuditCountAsync(connection, "WO-2026-0007"));

        // The same record delivered again (under a webhook-id of its own, so the receiver publishes
        // it) changes nothing: seen once the worker has said what it did with it.
        Assert.Equal(HttpStatusCode.OK, (await _product.PosWebhooks.SendAsync(Callback())).StatusCode);
        await OutcomesAsync("WO-2026-0007", 2);
        Assert.Equal(["applied", "unchanged"], Outcomes("WO-2026-0007"));
        Assert.Equal(auditBefore + 1, await ServiceEvents.AuditCountAsync(connection, "WO-2026-0007"));
    }

    [Fact]
    public async Task A_callback_whose_text_holds_the_replacement_character_is_applied_with_it()
    {
        await using var connection = await _product.OpenDatabaseAsync();
        var record = JsonNode.Parse(PosCallbacks.For("WO-FFFD-1"))!;
        record["work_summary"] = "Stock for M\uFFFDller";

        var response = await _product.PosWebhooks.SendAsync(record.ToJsonString());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await OutcomesAsync("WO-FFFD-1", 1);
        Assert.Equal("Stock for M\uFFFDller", (await ServiceEvents.AllAsync(connection))["WO-FFFD-1"].WorkSummary);
    }

    [Fact]
    public async Task Invalid_callbacks_are_refused_with_the_reason_and_nothing_is_published()
    {
        var probe = await _product.Broker.ProbeAsync<PosServiceRecordReceived>();
        var record = JsonNode.Parse(Callback())!;
        record["status"] = "shipped";
        var noUpdatedAt = JsonNode.Parse(Callback())!.AsObject();
        noUpdatedAt.Remove("updated_at");

        var badStatus = await _product.PosWebhooks.SendAsync(record.ToJsonString());
        var missingVersion = await _product.PosWebhooks.SendAsync(noUpdatedAt.ToJsonString());
        var notJson = await _product.PosWebhooks.SendAsync("{\"source_record_id\":");
        var wrongSecret = await new WebhookSender(new HttpClient(), _product.ReceiverUrl + "/webhooks/pos",
            WebhookSender.Base64Secret("wrong")).SendAsync(Callback());

        Assert.Equal(HttpStatusCode.BadRequest, badStatus.StatusCode);
        Assert.Contains("shipped", await badStatus.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, missingVersion.StatusCode);
        Assert.Contains("updated_at", await missingVersion.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongSecret.StatusCode);
        Assert.Empty(await _product.Broker.DrainAsync(probe));
    }

    [Fact]
    public async Task Callbacks_postgresql_could_not_store_or_with_an_updated_at_without_a_time_of_day_or_far_ahead_are_refused_and_nothing_is_published()
    {
        var probe = await _product.Broker.ProbeAsync<PosServiceRecordReceived>();
        var callback = Callback().TrimEnd().TrimEnd('}');
        var bodies = new Dictionary<string, string>
        {
            ["NUL"] = callback + ",\"note\":\"a\\u0000b\"}",
            ["NUL in a key"] = callback + ",\"n\\u0000te\":1}",
            ["lone surrogate"] = callback + ",\"note\":\"\\ud800\"}",
            ["lone surrogate in a key"] = callback + ",\"\\udc00\":1}",
            ["huge number"] = callback + ",\"weight\":1e999999}",
            ["date-only updated_at"] = Callback().Replace("\"2026-03-15T09:00:00+01:00\"", "\"2026-03-15\"", StringComparison.Ordinal),
            ["updated_at of year 1"] = Callback().Replace("\"2026-03-15T09:00:00+01:00\"", "\"0001-01-01T00:00:00Z\"", StringComparison.Ordinal),
            ["escape sequence in the serial"] = Callback().Replace("\"serial_number\":\"", "\"serial_number\":\"\\u001b[2K", StringComparison.Ordinal),
            ["updated_at of year 9999"] = Callback().Replace("\"2026-03-15T09:00:00+01:00\"", "\"9999-12-31T23:59:59Z\"", StringComparison.Ordinal),
        };

        var responses = new Dictionary<string, (HttpStatusCode Status, string Body)>();
        foreach (var (kind, body) in bodies)
        {
            using var response = await _product.PosWebhooks.SendAsync(body);
            responses[kind] = (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        Assert.All(responses, r => Assert.True(r.Value.Status == HttpStatusCode.BadRequest, $"{r.Key}: {r.Value.Status} {r.Value.Body}"));
        Assert.Contains("NUL", responses["NUL"].Body, StringComparison.Ordinal);
        Assert.Contains("NUL", responses["NUL in a key"].Body, StringComparison.Ordinal);
        Assert.Contains("surrogate", responses["lone surrogate"].Body, StringComparison.Ordinal);
        Assert.Contains("surrogate", responses["lone surrogate in a key"].Body, StringComparison.Ordinal);
        Assert.Contains("1e999999", responses["huge number"].Body, StringComparison.Ordinal);
        Assert.Contains("time of day", responses["date-only updated_at"].Body, StringComparison.Ordinal);
        Assert.Contains("updated_at '0001-01-01T00:00:00Z' is not a time PostgreSQL can store as sent", responses["updated_at of year 1"].Body, StringComparison.Ordinal);
        Assert.Contains("serial_number contains the control character U+001B", responses["escape sequence in the serial"].Body, StringComparison.Ordinal);
        Assert.Contains("updated_at '9999-12-31T23:59:59Z' is more than 01:00:00 ahead of the time it was received", responses["updated_at of year 9999"].Body, StringComparison.Ordinal);
        Assert.Empty(await _product.Broker.DrainAsync(probe));
    }

    [Fact]
    public async Task Parked_records_appear_under_their_owner_once_the_asset_is_registered_and_verified()
    {
        await using var connection = await _product.OpenDatabaseAsync();
        await connection.ExecuteAsync(
            "insert into perazzi_assets (owner_user_id, serial_number, model, verification_status) values (@Marco, 'zz-000000 ', 'MX8', 'pending')",
            new { PortalUsers.Marco });
        await RematchRanSinceAsync(connection, DateTime.UtcNow);
        Assert.False((await ServiceEvents.AllAsync(connection)).ContainsKey("WO-2026-0003"));
        Assert.True((await ServiceEvents.OpenParkedAsync(connection)).ContainsKey("WO-2026-0003"));

        await connection.ExecuteAsync("update perazzi_assets set verification_status = 'verified' where serial_number in ('ZZ-000000')");

        var events = await ProductUnderTest.EventuallyAsync(
            "WO-2026-0003 attached once its asset is verified", () => ServiceEvents.AllAsync(connection), e => e.ContainsKey("WO-2026-0003"),
            diagnostics: _product.Logs);
        Assert.Equal(PortalUsers.Marco, events["WO-2026-0003"].OwnerUserId);
        Assert.True((await ServiceEvents.OpenParkedAsync(connection)).ContainsKey("WO-2026-0008"));

        await connection.ExecuteAsync("update perazzi_assets set verification_status = 'verified' where serial_number = 'SC3-555001'");

        events = await ProductUnderTest.EventuallyAsync(
            "WO-2026-0008 attached once its asset is verified", () => ServiceEvents.AllAsync(connection), e => e.ContainsKey("WO-2026-0008"),
            diagnostics: _product.Logs);
        Assert.Equal(PortalUsers.Marco, events["WO-2026-0008"].OwnerUserId);
        Assert.Empty(await ServiceEvents.OpenParkedAsync(connection));
    }
}
