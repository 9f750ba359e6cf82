using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Pos.Tests;

/// <summary>
/// The worker's scheduled part of claim verification, with the re-match firing every 2 seconds:
/// records parked before their gun was claimed are weighed, and the asset gauges follow the
/// database whichever process verified.
/// </summary>
public sealed class AssetVerificationJobTests(AssetVerificationJobTests.Fixture fixture) : IClassFixture<AssetVerificationJobTests.Fixture>, IAsyncLifetime
{
    /// <summary>Receiver, one worker whose re-match fires every 2 seconds.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public ProductUnderTest Product { get; private set; } = null!;

        public async Task InitializeAsync() => Product = await ProductUnderTest.StartAsync();

        public async Task DisposeAsync() => await Product.DisposeAsync();
    }

    readonly ProductUnderTest _product = fixture.Product;
    NpgsqlConnection _connection = null!;

    public async Task InitializeAsync() => _connection = await _product.OpenDatabaseAsync();

    public async Task DisposeAsync() => await _connection.DisposeAsync();

    [Fact]
    public async Task A_gun_claimed_after_its_records_were_parked_is_verified_by_the_rematch_when_they_name_the_claimant()
    {
        var owner = await UserAsync("late.claimant@example.com");
        var other = await UserAsync("quiet.claimant@example.com");
        await SendAsync("WO-J1", "MX8-J0001", "late.claimant@example.com");
        await SendAsync("WO-J2", "MX8-J0002", null);
        await WaitForAsync("both records parked for an unknown serial", () => ServiceEvents.OpenParkedAsync(_connection),
            p => p.GetValueOrDefault("WO-J1") == "unknown_serial" && p.GetValueOrDefault("WO-J2") == "unknown_serial");
        var messages = (await _connection.QueryAsync<(string Key, string? MessageId)>(
            "select source_key, message_id from perazzi_sync.parked_events where source_key in ('WO-J1', 'WO-J2')")).ToDictionary(m => m.Key, m => m.MessageId);
        Assert.False(string.IsNullOrEmpty(messages["WO-J1"]) || string.IsNullOrEmpty(messages["WO-J2"]), string.Join(", ", messages));

        await ClaimAsync(owner, "MX8-J0001");
        await ClaimAsync(other, "MX8-J0002");

        var verified = await WaitForAsync("the re-match to verify MX8-J0001",
            () => _connection.QuerySingleAsync<(string Status, string? Method)>(
                "select verification_status, verification_method from perazzi_assets where serial_number = 'MX8-J0001'"),
            a => a.Status == "verified");
        Assert.Equal("pos_match", verified.Method);
        Assert.Equal(owner, (await ServiceEvents.AllAsync(_connection))["WO-J1"].OwnerUserId);
        var reason = await WaitForAsync("the claim on MX8-J0002 open for review",
            () => _connection.ExecuteScalarAsync<string?>("select reason from perazzi_sync.asset_claims where serial_number = 'MX8-J0002' and status = 'open'"),
            r => r is not null);
        Assert.Equal("no_pos_identity", reason);

        // The record's audit row and the verification it brought name the callback it came in,
        // and the record parked again keeps it.
        var audits = (await _connection.QueryAsync<(string Action, string? MessageId)>("""
            select action, metadata->>'message_id' from audit_log
            where (object_type = 'service_event' and metadata->>'source_key' = 'WO-J1')
               or (object_type = 'perazzi_asset' and metadata->>'pos_source_record_id' = 'WO-J1')
            order by action
            """)).ToList();
        Assert.Equal([("asset.verify", messages["WO-J1"]), ("service_event.upsert", messages["WO-J1"])], audits);
        Assert.Equal(messages["WO-J2"], await _connection.ExecuteScalarAsync<string?>(
            "select message_id from perazzi_sync.parked_events where source_key = 'WO-J2'"));

        // Weighed once: the firings after it leave the record as it is until new evidence or a review.
        var attempts = await _connection.ExecuteScalarAsync<int>("select attempts from perazzi_sync.parked_events where source_key = 'WO-J2'");
        var firings = await FiringsAsync();
        await WaitForAsync("two more re-match firings", FiringsAsync, n => n >= firings + 2);
        Assert.Equal(attempts, await _connection.ExecuteScalarAsync<int>("select attempts from perazzi_sync.parked_events where source_key = 'WO-J2'"));
        Assert.Equal("unverified", await _connection.ExecuteScalarAsync<string>("select verification_status from perazzi_assets where serial_number = 'MX8-J0002'"));
    }

    [Fact]
    public async Task The_workers_metrics_show_verified_assets_by_method_and_open_review_items()
    {
        var worker = _product.WorkerUrls[0];
        const string Verified = "perazzisync_assets_verified";
        const string Open = "perazzisync_assets_reviews_open";
        // The gauges as they stand: what the database holds, once the worker has counted it.
        var (posMatch, dealerReview, open) = await _connection.QuerySingleAsync<(double, double, double)>("""
            select (select count(*) from perazzi_assets where verification_status = 'verified' and verification_method = 'pos_match'),
                   (select count(*) from perazzi_assets where verification_status = 'verified' and verification_method = 'dealer_review'),
                   (select count(*) from perazzi_sync.asset_claims where status = 'open')
            """);
        await WaitForAsync("the gauges to show the database's counts", async () => (
                await Metrics.ReadAsync(worker, Verified, "method=\"pos_match\""),
                await Metrics.ReadAsync(worker, Verified, "method=\"dealer_review\""),
                await Metrics.ReadAsync(worker, Open)),
            g => g == (posMatch, dealerReview, open));

        var owner = await UserAsync("metrics.owner@example.com");
        var claimant = await UserAsync("metrics.claimant@example.com");
        await ClaimAsync(owner, "MX8-J0003");
        await ClaimAsync(claimant, "MX8-J0004");
        await SendAsync("WO-J3", "MX8-J0003", "metrics.owner@example.com");
        await SendAsync("WO-J4", "MX8-J0004", "someone.else@example.com");

        Assert.Equal(posMatch + 1, await WaitForAsync("pos_match one more", () => Metrics.ReadAsync(worker, Verified, "method=\"pos_match\""), n => n == posMatch + 1));
        Assert.Equal(open + 1, await WaitForAsync("one more open review item", () => Metrics.ReadAsync(worker, Open), n => n == open + 1));

        var verify = await new Cli(_product).RunAsync("assets", "verify", "MX8-J0004", "--as", "Metrics Test");
        Assert.True(verify.ExitCode == 0, verify.Output);

        Assert.Equal(dealerReview + 1, await WaitForAsync("dealer_review one more", () => Metrics.ReadAsync(worker, Verified, "method=\"dealer_review\""), n => n == dealerReview + 1));
        Assert.Equal(open, await WaitForAsync("the review item closed", () => Metrics.ReadAsync(worker, Open), n => n == open));
    }

    Task<long> FiringsAsync() =>
        _connection.ExecuteScalarAsync<long>("select count(*) from perazzi_sync.job_firings where job_name = 'pos-rematch'");

    async Task<Guid> UserAsync(string email)
    {
        var id = Guid.NewGuid();
        await _connection.ExecuteAsync("""
            insert into auth.users (id, email, email_confirmed_at) values (@id, @email, now());
            insert into profiles (id, email, display_name) values (@id, @email, @email);
            """, new { id, email });
        return id;
    }

    async Task ClaimAsync(Guid owner, string serial) => await _connection.ExecuteAsync(
        "insert into perazzi_assets (owner_user_id, serial_number, model) values (@owner, @serial, 'MX8')", new { owner, serial });

    Task<T> WaitForAsync<T>(string what, Func<Task<T>> read, Func<T, bool> done) =>
        ProductUnderTest.EventuallyAsync(what, read, done, diagnostics: _product.Logs);

    async Task SendAsync(string workOrder, string serial, string? email)
    {
        var record = new JsonObject
        {
            ["source_record_id"] = workOrder,
            ["serial_number"] = serial,
            ["status"] = "received",
            ["updated_at"] = "2026-03-01T10:00:00Z",
            ["customer_email"] = email,
        };
        await ServiceEvents.SendUntilAcceptedAsync(_product, record.ToJsonString(), null);
    }
}
