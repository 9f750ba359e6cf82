using System.Globalization;
using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Data;
using PerazziSync.Pos.Rows;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Pos.Tests;

/// <summary>
/// Claimed guns verified by their POS records (<c>pos_match</c>) or by an operator
/// (<c>dealer_review</c>), and the attacks that must verify or move nothing: receiver and worker
/// as processes for callbacks, the Cli as a process for exports and the review verbs. The
/// re-match never fires here, so whatever is attached was attached by the write that verified.
/// The tests share one product; each has users and serials of its own.
/// </summary>
public sealed class AssetVerificationTests(AssetVerificationTests.Fixture fixture) : IClassFixture<AssetVerificationTests.Fixture>, IAsyncLifetime
{
    /// <summary>Receiver, one worker whose re-match never fires.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public ProductUnderTest Product { get; private set; } = null!;

        public async Task InitializeAsync() =>
            Product = await ProductUnderTest.StartAsync(settings: new Dictionary<string, string> { ["Pos__RematchCron"] = "0 0 0 1 1 ? 2099" });

        public async Task DisposeAsync() => await Product.DisposeAsync();
    }

    readonly ProductUnderTest _product = fixture.Product;
    NpgsqlConnection _connection = null!;

    public async Task InitializeAsync() => _connection = await _product.OpenDatabaseAsync();

    public async Task DisposeAsync() => await _connection.DisposeAsync();

    [Fact]
    public async Task A_callback_naming_the_claimants_confirmed_email_verifies_the_claim_and_attaches_its_parked_history_at_once()
    {
        var owner = await UserAsync("Owner.One@Example.com", confirmed: true);
        var asset = await ClaimAsync(owner, " mx8-v0001");
        await SendAsync("WO-V1-A", "MX8-V0001", "2026-03-01T10:00:00Z", email: null);
        await WaitForClaimAsync("MX8-V0001", c => c.Reason == "no_pos_identity");
        var parkedMessage = await _connection.ExecuteScalarAsync<string?>(
            "select message_id from perazzi_sync.parked_events where source_key = 'WO-V1-A' and resolved_at is null");
        Assert.False(string.IsNullOrEmpty(parkedMessage), "WO-V1-A is not parked with its message id");

        var webhookId = "msg_verify_" + Guid.NewGuid().ToString("N");
        await SendAsync("WO-V1-B", "MX8-V0001", "2026-03-02T10:00:00Z", email: "  owner.one@EXAMPLE.com ", webhookId: webhookId);

        var verified = await WaitForAsync("the asset verified by pos_match", () => AssetAsync("MX8-V0001"), a => a.Status == "verified");
        Assert.Equal(("verified", "pos_match", owner), (verified.Status, verified.Method, verified.Owner));
        Assert.True(verified.VerifiedAt > DateTime.UtcNow.AddMinutes(-5), $"verified_at is {verified.VerifiedAt}");
        var events = await ServiceEvents.AllAsync(_connection);
        Assert.Equal(owner, events["WO-V1-A"].OwnerUserId);
        Assert.Equal(owner, events["WO-V1-B"].OwnerUserId);
        var parked = await ServiceEvents.OpenParkedAsync(_connection);
        Assert.False(parked.ContainsKey("WO-V1-A") || parked.ContainsKey("WO-V1-B"), string.Join(", ", parked.Keys));
        Assert.Equal(("verified", (string?)null), await ClaimStateAsync("MX8-V0001"));

        var audit = Assert.Single(await AssetAuditAsync(asset));
        Assert.Equal(("asset.verify", "service_role"), (audit.Action, audit.ActorRole));
        var metadata = JsonNode.Parse(audit.Metadata)!;
        Assert.Equal("WO-V1-B", (string?)metadata["pos_source_record_id"]);
        Assert.Equal("pos_customer_email", (string?)metadata["basis"]);
        Assert.Equal("pos_match", (string?)metadata["verification_method"]);
        Assert.Equal("unverified", (string?)metadata["previous_status"]);
        Assert.Equal(webhookId, (string?)metadata["delivery_id"]);
        Assert.False(string.IsNullOrEmpty((string?)metadata["message_id"]), audit.Metadata);
        Assert.False(string.IsNullOrEmpty((string?)metadata["trace_id"]), audit.Metadata);
        // The parked record attached with it names the callback it came in, not the one that verified.
        Assert.Equal([parkedMessage], await _connection.QueryAsync<string?>(
            "select metadata->>'message_id' from audit_log where object_type = 'service_event' and metadata->>'source_key' = 'WO-V1-A'"));

        // The same delivery again verifies nothing twice.
        await SendAsync("WO-V1-B", "MX8-V0001", "2026-03-02T10:00:00Z", email: "  owner.one@EXAMPLE.com ", webhookId: webhookId);
        await SendAsync("WO-V1-C", "MX8-V0001", "2026-03-03T10:00:00Z", email: "owner.one@example.com");
        await WaitForAsync("the next record attached", () => ServiceEvents.AllAsync(_connection), e => e.ContainsKey("WO-V1-C"));
        Assert.Single(await AssetAuditAsync(asset));
    }

    [Fact]
    public async Task A_claim_verified_on_the_strength_of_a_parked_record_names_the_callback_that_record_came_in()
    {
        var owner = await UserAsync("Parked.Evidence@Example.com", confirmed: true);
        // The record naming the owner comes before the gun is claimed: parked, its serial unknown.
        await SendAsync("WO-V13-A", "MX8-V0013", "2026-03-01T10:00:00Z", email: "parked.evidence@example.com");
        await WaitForAsync("WO-V13-A parked", () => ServiceEvents.OpenParkedAsync(_connection), p => p.ContainsKey("WO-V13-A"));
        var parkedMessage = await _connection.ExecuteScalarAsync<string?>(
            "select message_id from perazzi_sync.parked_events where source_key = 'WO-V13-A'");
        Assert.False(string.IsNullOrEmpty(parkedMessage), "WO-V13-A is not parked with its message id");
        var asset = await ClaimAsync(owner, "MX8-V0013");

        // A later record names no customer: the claim rests on the parked one.
        var webhookId = "msg_later_" + Guid.NewGuid().ToString("N");
        await SendAsync("WO-V13-B", "MX8-V0013", "2026-03-02T10:00:00Z", email: null, webhookId: webhookId);

        await WaitForAsync("the asset verified by pos_match", () => AssetAsync("MX8-V0013"), a => a.Status == "verified");
        var metadata = JsonNode.Parse(Assert.Single(await AssetAuditAsync(asset)).Metadata)!;
        Assert.Equal("WO-V13-A", (string?)metadata["pos_source_record_id"]);
        Assert.Equal(parkedMessage, (string?)metadata["message_id"]);
        Assert.NotEqual(webhookId, (string?)metadata["delivery_id"]);
        // Attached in the same write, under the same message.
        Assert.Equal([parkedMessage], await _connection.QueryAsync<string?>(
            "select metadata->>'message_id' from audit_log where object_type = 'service_event' and metadata->>'source_key' = 'WO-V13-A'"));
    }

    [Fact]
    public async Task Two_claims_verified_by_one_group_of_callbacks_each_count_the_parked_records_of_their_own_gun()
    {
        var first = await UserAsync("First.Claimant@Example.com", confirmed: true);
        var second = await UserAsync("Second.Claimant@Example.com", confirmed: true);
        await ClaimAsync(first, "MX8-V0011");
        await ClaimAsync(second, "MX8-V0012");
        // No record names a customer yet: two are parked for the first gun, one for the second.
        await SendAsync("WO-V11-A", "MX8-V0011", "2026-03-01T10:00:00Z", email: null);
        await SendAsync("WO-V11-B", "MX8-V0011", "2026-03-02T10:00:00Z", email: null);
        await SendAsync("WO-V12-A", "MX8-V0012", "2026-03-01T10:00:00Z", email: null);
        await WaitForAsync("the three records parked", () => ServiceEvents.OpenParkedAsync(_connection),
            p => p.ContainsKey("WO-V11-A") && p.ContainsKey("WO-V11-B") && p.ContainsKey("WO-V12-A"));

        // Both claims verified in one group, as the worker's committer writes the callbacks it holds at once.
        await using var database = NpgsqlDataSource.Create(_product.Database.ConnectionString);
        var written = await CallbackGroups.WriteAsync(database,
            [Callback("WO-V11-C", "MX8-V0011", "first.claimant@example.com"), Callback("WO-V12-B", " mx8-v0012", "second.claimant@example.com")],
            CancellationToken.None);

        Assert.Equal([new CallbackWritten(SyncOutcome.Applied, 2), new CallbackWritten(SyncOutcome.Applied, 1)], written);
        Assert.Equal(("verified", "verified"), ((await AssetAsync("MX8-V0011")).Status, (await AssetAsync("MX8-V0012")).Status));
        var events = await ServiceEvents.AllAsync(_connection);
        Assert.Equal((first, first, first), (events["WO-V11-A"].OwnerUserId, events["WO-V11-B"].OwnerUserId, events["WO-V11-C"].OwnerUserId));
        Assert.Equal((second, second), (events["WO-V12-A"].OwnerUserId, events["WO-V12-B"].OwnerUserId));

        static PosCallback Callback(string workOrder, string serial, string email) => new(
            new PosServiceRecord(workOrder, serial, "completed", null, "Service", [], DateTimeOffset.Parse("2026-03-05T10:00:00Z", CultureInfo.InvariantCulture), "{}", email),
            new MessageOrigin(Guid.NewGuid().ToString(), "msg_" + workOrder, null));
    }

    [Fact]
    public async Task An_export_naming_the_claimants_confirmed_email_verifies_the_claim_within_the_import()
    {
        var owner = await UserAsync("export.owner@example.com", confirmed: true);
        var asset = await ClaimAsync(owner, "HT-V0002", status: "pending");

        var (exitCode, output) = await ImportAsync(
            "WO-V2-A,HT-V0002,received,,Intake,,2026-03-01T09:00:00Z,,",
            "WO-V2-B,ht-v0002 ,completed,,Service,,2026-03-04T09:00:00Z,EXPORT.OWNER@example.com,Export Owner");

        Assert.True(exitCode == 0, output);
        Assert.Contains("1 claimed gun(s) verified", output, StringComparison.Ordinal);
        var verified = await AssetAsync("HT-V0002");
        Assert.Equal(("verified", "pos_match"), (verified.Status, verified.Method));
        var events = await ServiceEvents.AllAsync(_connection);
        Assert.Equal(owner, events["WO-V2-A"].OwnerUserId);
        Assert.Equal(owner, events["WO-V2-B"].OwnerUserId);
        var audit = Assert.Single(await AssetAuditAsync(asset));
        var metadata = JsonNode.Parse(audit.Metadata)!;
        Assert.Equal("WO-V2-B", (string?)metadata["pos_source_record_id"]);
        Assert.Equal("pending", (string?)metadata["previous_status"]);
        Assert.Equal(await _connection.ExecuteScalarAsync<Guid>("select id from perazzi_sync.pos_imports order by started_at desc limit 1"),
            Guid.Parse((string)metadata["import_id"]!));
    }

    [Fact]
    public async Task A_claim_on_someone_elses_serial_is_not_verified_by_a_record_naming_the_real_customer()
    {
        await UserAsync("real.customer@example.com", confirmed: true);
        var claimant = await UserAsync("claimant.three@example.com", confirmed: true);
        var asset = await ClaimAsync(claimant, "MX8-V0003");

        await SendAsync("WO-V3", "MX8-V0003", "2026-03-01T10:00:00Z", email: "real.customer@example.com");

        await WaitForClaimAsync("MX8-V0003", c => c.Reason == "email_mismatch" && c.PosSourceRecordId == "WO-V3");
        await AssertUntouchedAsync("MX8-V0003", asset, claimant, "unverified");
        Assert.Equal("asset_not_verified", (await ServiceEvents.OpenParkedAsync(_connection))["WO-V3"]);
    }

    [Fact]
    public async Task A_claimant_who_changed_their_email_to_the_customers_without_confirming_it_is_not_verified()
    {
        var claimant = await UserAsync("claimant.four@example.com", confirmed: true);
        var asset = await ClaimAsync(claimant, "MX8-V0004");
        // The stand-in for a changed address: the new e-mail, not (yet) confirmed.
        await _connection.ExecuteAsync(
            "update auth.users set email = 'customer.four@example.com', email_confirmed_at = null where id = @claimant", new { claimant });

        await SendAsync("WO-V4", "MX8-V0004", "2026-03-01T10:00:00Z", email: "Customer.Four@example.com");

        await WaitForClaimAsync("MX8-V0004", c => c.Reason == "claimant_unconfirmed" && c.PosSourceRecordId == "WO-V4");
        await AssertUntouchedAsync("MX8-V0004", asset, claimant, "unverified");
    }

    [Fact]
    public async Task An_export_naming_another_user_for_a_serial_verified_to_someone_else_moves_and_changes_nothing()
    {
        var owner = await UserAsync("verified.owner@example.com", confirmed: true);
        await UserAsync("other.user@example.com", confirmed: true);
        var asset = await ClaimAsync(owner, "MX8-V0005", status: "verified", method: "dealer_review", verifiedAt: new DateTime(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc));

        var (exitCode, output) = await ImportAsync("WO-V5,MX8-V0005,completed,,Service,,2026-03-01T09:00:00Z,other.user@example.com,Other User");

        Assert.True(exitCode == 0, output);
        Assert.Equal(owner, (await ServiceEvents.AllAsync(_connection))["WO-V5"].OwnerUserId);
        var after = await AssetAsync("MX8-V0005");
        Assert.Equal(("verified", "dealer_review", owner, new DateTime(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc)),
            (after.Status, after.Method, after.Owner, after.VerifiedAt!.Value.ToUniversalTime()));
        Assert.Empty(await AssetAuditAsync(asset));
        Assert.Null(await ClaimStateAsync("MX8-V0005"));
    }

    [Fact]
    public async Task A_replayed_older_record_naming_the_claimant_verifies_nothing()
    {
        var claimant = await UserAsync("claimant.six@example.com", confirmed: true);
        await UserAsync("later.customer@example.com", confirmed: true);
        var asset = await ClaimAsync(claimant, "MX8-V0006");
        // The work order as it stands now names another customer.
        await SendAsync("WO-V6", "MX8-V0006", "2026-03-05T10:00:00Z", email: "later.customer@example.com");
        var open = await WaitForClaimAsync("MX8-V0006", c => c.Reason == "email_mismatch");

        // An older version of it, and an older work order, both naming the claimant.
        await SendAsync("WO-V6", "MX8-V0006", "2026-03-01T10:00:00Z", email: "claimant.six@example.com");
        open = await WaitForClaimAsync("MX8-V0006", c => c.LastSeenAt > open.LastSeenAt);
        await SendAsync("WO-V6-OLD", "MX8-V0006", "2026-02-01T10:00:00Z", email: "claimant.six@example.com");
        await WaitForClaimAsync("MX8-V0006", c => c.LastSeenAt > open.LastSeenAt);

        await AssertUntouchedAsync("MX8-V0006", asset, claimant, "unverified");
        Assert.Equal(("open", "email_mismatch"), await ClaimStateAsync("MX8-V0006"));
    }

    /// <summary>
    /// The import writes two chunks at once, but a chunk naming a gun the chunk before it finds
    /// claimed waits for that chunk's commit: the claim is weighed on the earlier chunk's records
    /// first, as it would be one chunk after the other. Here the earlier chunk is slow to write
    /// (forty rows of long summaries against the later chunk's one), so without the wait the later
    /// chunk would weigh the claim first, on the older record alone.
    /// </summary>
    [Fact]
    public async Task A_newer_record_in_an_earlier_chunk_outweighs_an_older_one_naming_the_claimant_in_the_chunk_written_beside_it()
    {
        var claimant = await UserAsync("claimant.chunks@example.com", confirmed: true);
        await UserAsync("newer.customer@example.com", confirmed: true);
        var asset = await ClaimAsync(claimant, "MX8-V0090");
        var summary = new string('x', 50_000);
        string[] rows =
        [
            "WO-V90-NEW,MX8-V0090,completed,,Service,,2026-03-05T10:00:00Z,newer.customer@example.com,Newer Customer",
            .. Enumerable.Range(1, 39).Select(i => $"WO-V90-FILL-{i},MX8-123456,completed,,{summary},,2026-03-05T10:00:00Z,,"),
            "WO-V90-OLD,MX8-V0090,completed,,Service,,2026-03-01T10:00:00Z,claimant.chunks@example.com,Claimant",
        ];

        var (exitCode, output) = await ImportAsync(40, rows);

        Assert.True(exitCode == 0, output);
        await AssertUntouchedAsync("MX8-V0090", asset, claimant, "unverified");
        Assert.Equal(("open", "email_mismatch"), await ClaimStateAsync("MX8-V0090"));
    }

    [Fact]
    public async Task An_email_that_several_confirmed_users_share_verifies_nothing()
    {
        var claimant = await UserAsync("shared.seven@example.com", confirmed: true);
        await UserAsync("Shared.Seven@Example.com", confirmed: true);
        var asset = await ClaimAsync(claimant, "MX8-V0007");

        await SendAsync("WO-V7", "MX8-V0007", "2026-03-01T10:00:00Z", email: "shared.seven@example.com");

        await WaitForClaimAsync("MX8-V0007", c => c.Reason == "ambiguous_portal_user");
        await AssertUntouchedAsync("MX8-V0007", asset, claimant, "unverified");
    }

    [Fact]
    public async Task The_operator_reviews_a_claim_with_its_evidence_and_verifies_it_with_its_history_attached()
    {
        var claimant = await UserAsync("claimant.eight@example.com", confirmed: true);
        var asset = await ClaimAsync(claimant, "SC3-V0008", status: "pending");
        await SendAsync("WO-V8-A", "SC3-V0008", "2026-03-01T10:00:00Z", email: "previous.owner@example.com", name: "Previous Owner");
        await SendAsync("WO-V8-B", "SC3-V0008", "2026-03-02T10:00:00Z", email: null);
        await WaitForAsync("both records parked", () => ServiceEvents.OpenParkedAsync(_connection),
            p => p.ContainsKey("WO-V8-A") && p.ContainsKey("WO-V8-B"));
        await WaitForClaimAsync("SC3-V0008", c => c.Reason == "email_mismatch");

        var cli = new Cli(_product);
        var review = await cli.RunAsync("assets", "review");

        Assert.True(review.ExitCode == 0, review.Output);
        var claimLine = Assert.Single(review.Output.Split('\n'), l => l.Contains("SC3-V0008", StringComparison.Ordinal) && l.Contains(claimant.ToString(), StringComparison.Ordinal));
        Assert.Contains("open: email_mismatch", claimLine, StringComparison.Ordinal);
        Assert.Contains("pending", claimLine, StringComparison.Ordinal);
        var evidence = Assert.Single(review.Output.Split('\n'), l => l.Contains("WO-V8-A", StringComparison.Ordinal));
        Assert.Contains("previous.owner@example.com", evidence, StringComparison.Ordinal);
        Assert.Contains("Previous Owner", evidence, StringComparison.Ordinal);
        Assert.Contains(review.Output.Split('\n'), l => l.Contains("WO-V8-B", StringComparison.Ordinal));

        var verify = await cli.RunAsync("assets", "verify", "sc3-v0008", "--as", "Alice Reviewer");

        Assert.True(verify.ExitCode == 0, verify.Output);
        Assert.Contains("2 parked POS record(s) attached", verify.Output, StringComparison.Ordinal);
        var verified = await AssetAsync("SC3-V0008");
        Assert.Equal(("verified", "dealer_review", claimant), (verified.Status, verified.Method, verified.Owner));
        var events = await ServiceEvents.AllAsync(_connection);
        Assert.Equal(claimant, events["WO-V8-A"].OwnerUserId);
        Assert.Equal(claimant, events["WO-V8-B"].OwnerUserId);
        var audit = Assert.Single(await AssetAuditAsync(asset));
        Assert.Equal(("asset.verify", "operator"), (audit.Action, audit.ActorRole));
        var metadata = JsonNode.Parse(audit.Metadata)!;
        Assert.Equal("Alice Reviewer", (string?)metadata["operator"]);
        Assert.Equal(Environment.UserName, (string?)metadata["os_user"]);
        Assert.Equal(Environment.MachineName, (string?)metadata["host"]);
        Assert.False(string.IsNullOrEmpty((string?)metadata["db_session_user"]), audit.Metadata);
        Assert.Equal("dealer_review", (string?)metadata["verification_method"]);
        Assert.Equal("email_mismatch", (string?)metadata["review_reason"]);
        Assert.Equal(("verified", "email_mismatch"), await ClaimStateAsync("SC3-V0008"));
        Assert.DoesNotContain((await cli.RunAsync("assets", "review")).Output.Split('\n'), l => l.Contains("SC3-V0008", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_review_names_each_claimant_by_their_sign_in_e_mail_and_marks_the_name_they_gave_themselves()
    {
        var claimant = await UserAsync("claimant.fifteen@example.com", confirmed: true);
        var unconfirmed = await UserAsync("claimant.sixteen@example.com", confirmed: false);
        await ClaimAsync(claimant, "MX8-V0015", status: "pending");
        await ClaimAsync(unconfirmed, "MX8-V0016");
        // Each names themselves, as the portal lets them, after the customer the workshop knows.
        await RenameAsync(claimant, "Previous Owner");
        await RenameAsync(unconfirmed, "previous.owner15@example.com (confirmed)");
        await SendAsync("WO-V15", "MX8-V0015", "2026-03-01T10:00:00Z", email: "previous.owner15@example.com", name: "Previous Owner");
        await WaitForClaimAsync("MX8-V0015", c => c.Reason == "email_mismatch");

        var review = await new Cli(_product).RunAsync("assets", "review");

        Assert.True(review.ExitCode == 0, review.Output);
        var lines = review.Output.Split('\n');
        var claimLine = Assert.Single(lines, l => l.Contains("MX8-V0015", StringComparison.Ordinal) && l.Contains(claimant.ToString(), StringComparison.Ordinal));
        Assert.Contains("claimant.fifteen@example.com (confirmed)", claimLine, StringComparison.Ordinal);
        Assert.DoesNotContain("Previous Owner", claimLine.Replace("self-given: \"Previous Owner\"", "", StringComparison.Ordinal), StringComparison.Ordinal);
        var unconfirmedLine = Assert.Single(lines, l => l.Contains("MX8-V0016", StringComparison.Ordinal));
        Assert.Contains("claimant.sixteen@example.com (not confirmed)", unconfirmedLine, StringComparison.Ordinal);
        Assert.Contains("self-given: \"previous.owner15@example.com (confirmed)\"", unconfirmedLine, StringComparison.Ordinal);
        var evidence = Assert.Single(lines, l => l.Contains("WO-V15", StringComparison.Ordinal));
        Assert.Contains("previous.owner15@example.com", evidence, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_operator_rejects_a_claim_and_no_record_changes_it_afterwards()
    {
        var claimant = await UserAsync("claimant.nine@example.com", confirmed: true);
        var asset = await ClaimAsync(claimant, "MX8-V0009");

        var reject = await new Cli(_product).RunAsync("assets", "reject", "MX8-V0009", "--reason", "Serial belongs to a stolen gun", "--as", "Bob");

        Assert.True(reject.ExitCode == 0, reject.Output);
        var rejected = await AssetAsync("MX8-V0009");
        Assert.Equal(("rejected", "dealer_review", (DateTime?)null), (rejected.Status, rejected.Method, rejected.VerifiedAt));
        var audit = Assert.Single(await AssetAuditAsync(asset));
        Assert.Equal(("asset.reject", "operator"), (audit.Action, audit.ActorRole));
        var metadata = JsonNode.Parse(audit.Metadata)!;
        Assert.Equal("Serial belongs to a stolen gun", (string?)metadata["reason"]);
        Assert.Equal("Bob", (string?)metadata["operator"]);

        // A record naming the claimant's confirmed e-mail would verify a claim; a rejected asset is none.
        await SendAsync("WO-V9", "MX8-V0009", "2026-03-01T10:00:00Z", email: "claimant.nine@example.com");
        await WaitForAsync("the record parked", () => ServiceEvents.OpenParkedAsync(_connection), p => p.ContainsKey("WO-V9"));

        Assert.Equal("rejected", (await AssetAsync("MX8-V0009")).Status);
        Assert.Single(await AssetAuditAsync(asset));
        Assert.Equal(("rejected", (string?)null), await ClaimStateAsync("MX8-V0009"));
    }

    [Fact]
    public async Task Deciding_a_serial_that_awaits_no_verification_fails_and_changes_nothing()
    {
        var owner = await UserAsync("owner.ten@example.com", confirmed: true);
        var asset = await ClaimAsync(owner, "MX8-V0010", status: "verified", method: "pos_match");
        var cli = new Cli(_product);

        var verifyAgain = await cli.RunAsync("assets", "verify", "MX8-V0010", "--as", "Carol");
        var reject = await cli.RunAsync("assets", "reject", "MX8-V0010", "--reason", "changed my mind", "--as", "Carol");
        var unknown = await cli.RunAsync("assets", "verify", "NO-SUCH-V0010", "--as", "Carol");

        Assert.True(verifyAgain.ExitCode == 1, verifyAgain.Output);
        Assert.Contains("MX8-V0010 is verified (pos_match)", verifyAgain.Output, StringComparison.Ordinal);
        Assert.True(reject.ExitCode == 1, reject.Output);
        Assert.True(unknown.ExitCode == 1, unknown.Output);
        Assert.Contains("No asset has the serial NO-SUCH-V0010", unknown.Output, StringComparison.Ordinal);
        Assert.Equal(("verified", "pos_match"), ((await AssetAsync("MX8-V0010")).Status, (await AssetAsync("MX8-V0010")).Method));
        Assert.Empty(await AssetAuditAsync(asset));
    }

    [Fact]
    public async Task A_claim_on_someone_elses_serial_is_released_by_an_operator_and_the_owners_own_claim_then_verifies()
    {
        var owner = await UserAsync("owner.fourteen@example.com", confirmed: true);
        var squatter = await UserAsync("squatter.fourteen@example.com", confirmed: true);
        var squat = await ClaimAsync(squatter, "MX8-V0014");
        await SendAsync("WO-V14-A", "MX8-V0014", "2026-03-01T10:00:00Z", email: "owner.fourteen@example.com");
        await WaitForClaimAsync("MX8-V0014", c => c.Reason == "email_mismatch");
        var cli = new Cli(_product);
        Assert.Contains("perazzisync assets release SERIAL --reason TEXT", (await cli.RunAsync("assets", "review")).Output, StringComparison.Ordinal);
        var rejected = await cli.RunAsync("assets", "reject", "MX8-V0014", "--reason", "not the workshop's customer", "--as", "Dana");
        Assert.True(rejected.ExitCode == 0, rejected.Output);
        // Rejected, the serial is still taken: the owner cannot claim it.
        var taken = await Assert.ThrowsAsync<PostgresException>(() => ClaimAsync(owner, "MX8-V0014"));
        Assert.Equal(PostgresErrorCodes.UniqueViolation, taken.SqlState);

        var release = await cli.RunAsync("assets", "release", " mx8-v0014 ", "--reason", "registered by someone who does not own it", "--as", "Dana");

        Assert.True(release.ExitCode == 0, release.Output);
        Assert.Contains("MX8-V0014 released as Dana", release.Output, StringComparison.Ordinal);
        Assert.Equal(0, await _connection.ExecuteScalarAsync<long>("select count(*) from perazzi_assets where serial_number = 'MX8-V0014'"));
        Assert.Null(await ClaimRowAsync("MX8-V0014"));
        var audit = await AssetAuditAsync(squat);
        Assert.Equal(["asset.reject", "asset.release"], audit.Select(a => a.Action));
        Assert.Equal("operator", audit[1].ActorRole);
        var metadata = JsonNode.Parse(audit[1].Metadata)!;
        Assert.Equal("registered by someone who does not own it", (string?)metadata["reason"]);
        Assert.Equal("Dana", (string?)metadata["operator"]);
        Assert.Equal("rejected", (string?)metadata["previous_status"]);
        Assert.Equal(squatter.ToString(), (string?)metadata["owner_user_id"]);
        Assert.True(await ServiceEvents.OpenParkedAsync(_connection) is var parked && parked.ContainsKey("WO-V14-A"));

        // The owner claims the serial; the workshop's next record names them, and their gun's history appears.
        await ClaimAsync(owner, "MX8-V0014");
        await SendAsync("WO-V14-B", "MX8-V0014", "2026-03-02T10:00:00Z", email: "owner.fourteen@example.com");
        var verified = await WaitForAsync("the owner's claim verified by pos_match", () => AssetAsync("MX8-V0014"), a => a.Status == "verified");
        Assert.Equal((owner, "pos_match"), (verified.Owner, verified.Method));
        var events = await ServiceEvents.AllAsync(_connection);
        Assert.Equal((owner, owner), (events["WO-V14-A"].OwnerUserId, events["WO-V14-B"].OwnerUserId));

        // A verified gun is no claim to release.
        var again = await cli.RunAsync("assets", "release", "MX8-V0014", "--reason", "by mistake", "--as", "Dana");
        Assert.True(again.ExitCode == 1, again.Output);
        Assert.Contains("MX8-V0014 is verified", again.Output, StringComparison.Ordinal);
        Assert.Equal("verified", (await AssetAsync("MX8-V0014")).Status);
    }

    [Fact]
    public async Task A_release_waiting_for_a_pos_write_that_attaches_history_to_the_gun_counts_that_history_and_changes_nothing()
    {
        var owner = await UserAsync("owner.seventeen@example.com", confirmed: true);
        var asset = await ClaimAsync(owner, "MX8-V0017", status: "verified", method: "dealer_review");
        // A POS write attaches a record to the verified gun and has not committed yet; meanwhile an
        // admin sets the gun back to a claim.
        await using var holding = await _product.OpenDatabaseAsync();
        await using var write = await holding.BeginTransactionAsync();
        await ServiceEvents.HoldAsync(write, "WO-V17", "MX8-V0017");
        await _connection.ExecuteAsync(
            "update perazzi_assets set verification_status = 'pending', verification_method = null where id = @asset", new { asset });

        var release = new Cli(_product).RunAsync("assets", "release", "MX8-V0017", "--reason", "claimed in error", "--as", "Erin");
        await WaitForAsync("the release waiting for the POS write's lock on the gun",
            () => _connection.ExecuteScalarAsync<long>("""
                select count(*) from pg_stat_activity
                where datname = current_database() and wait_event_type = 'Lock' and query like '%for update of a%'
                """),
            waiting => waiting == 1);
        await write.CommitAsync();
        var released = await release;

        Assert.True(released.ExitCode == 1, released.Output);
        Assert.Contains("MX8-V0017 has 1 service event(s), which deleting it would delete: nothing changed.", released.Output, StringComparison.Ordinal);
        Assert.Equal("pending", (await AssetAsync("MX8-V0017")).Status);
        Assert.Equal(asset, await _connection.ExecuteScalarAsync<Guid>("select asset_id from service_events where source_record_id = 'WO-V17'"));
        Assert.DoesNotContain("asset.release", (await AssetAuditAsync(asset)).Select(a => a.Action));
    }

    sealed record Asset(Guid Id, Guid Owner, string Status, string? Method, DateTime? VerifiedAt);

    sealed record Claim(string Status, string? Reason, string? PosSourceRecordId, DateTime LastSeenAt);

    sealed record AuditRow(string Action, string ActorRole, string Metadata);

    async Task<Guid> UserAsync(string email, bool confirmed)
    {
        var id = Guid.NewGuid();
        await _connection.ExecuteAsync("""
            insert into auth.users (id, email, email_confirmed_at) values (@id, @email, case when @confirmed then now() end);
            insert into profiles (id, email, display_name) values (@id, @email, @email);
            """, new { id, email, confirmed });
        return id;
    }

    /// <summary>The user's display name written as the portal writes it: as the user, under RLS.</summary>
    async Task RenameAsync(Guid user, string displayName)
    {
        await using var transaction = await _connection.BeginTransactionAsync();
        await _connection.ExecuteAsync(
            "set local role authenticated; select set_config('request.jwt.claims', @Claims, true)",
            new { Claims = $$"""{"sub":"{{user}}","role":"authenticated"}""" }, transaction);
        Assert.Equal(1, await _connection.ExecuteAsync(
            "update profiles set display_name = @displayName where id = @user", new { displayName, user }, transaction));
        await transaction.CommitAsync();
    }

    async Task<Guid> ClaimAsync(Guid owner, string serial, string status = "unverified", string? method = null, DateTime? verifiedAt = null) =>
        await _connection.ExecuteScalarAsync<Guid>("""
            insert into perazzi_assets (owner_user_id, serial_number, model, verification_status, verification_method, verified_at)
            values (@owner, @serial, 'MX8', @status, @method, @verifiedAt) returning id
            """, new { owner, serial, status, method, verifiedAt });

    Task<Asset> AssetAsync(string serial) => _connection.QuerySingleAsync<Asset>("""
        select id as "Id", owner_user_id as "Owner", verification_status as "Status", verification_method as "Method", verified_at as "VerifiedAt"
        from perazzi_assets where serial_number = @serial
        """, new { serial });

    Task<Claim?> ClaimRowAsync(string serial) => _connection.QuerySingleOrDefaultAsync<Claim?>("""
        select status as "Status", reason as "Reason", pos_source_record_id as "PosSourceRecordId", last_seen_at as "LastSeenAt"
        from perazzi_sync.asset_claims where serial_number = @serial
        """, new { serial });

    async Task<(string Status, string? Reason)?> ClaimStateAsync(string serial) =>
        await ClaimRowAsync(serial) is { } claim ? (claim.Status, claim.Reason) : null;

    async Task<List<AuditRow>> AssetAuditAsync(Guid asset) => (await _connection.QueryAsync<AuditRow>("""
        select action as "Action", actor_role as "ActorRole", metadata::text as "Metadata"
        from audit_log where object_type = 'perazzi_asset' and object_id = @asset order by created_at
        """, new { asset = asset.ToString() })).AsList();

    /// <summary>The claim open, once the record that would have verified it was weighed.</summary>
    async Task<Claim> WaitForClaimAsync(string serial, Func<Claim, bool> done)
    {
        var claim = await WaitForAsync($"the claim on {serial}", () => ClaimRowAsync(serial), c => c is not null && done(c));
        Assert.Equal("open", claim!.Status);
        return claim;
    }

    /// <summary>The claim still the claimant's, in <paramref name="status"/>, with no audit row, no service history attached.</summary>
    async Task AssertUntouchedAsync(string serial, Guid asset, Guid claimant, string status)
    {
        var now = await AssetAsync(serial);
        Assert.Equal((status, (string?)null, claimant, (DateTime?)null), (now.Status, now.Method, now.Owner, now.VerifiedAt));
        Assert.Empty(await AssetAuditAsync(asset));
        Assert.Equal(0, await _connection.ExecuteScalarAsync<long>("select count(*) from service_events where asset_id = @asset", new { asset }));
    }

    Task<T> WaitForAsync<T>(string what, Func<Task<T>> read, Func<T, bool> done) =>
        ProductUnderTest.EventuallyAsync(what, read, done, diagnostics: _product.Logs);

    async Task SendAsync(string workOrder, string serial, string updatedAt, string? email, string? name = null, string? webhookId = null)
    {
        var record = new JsonObject
        {
            ["source_record_id"] = workOrder,
            ["serial_number"] = serial,
            ["status"] = "completed",
            ["work_summary"] = "Service",
            ["attachments"] = new JsonArray(),
            ["updated_at"] = updatedAt,
        };
        if (email is not null)
        {
            record["customer_email"] = email;
        }
        if (name is not null)
        {
            record["customer_name"] = name;
        }
        await ServiceEvents.SendUntilAcceptedAsync(_product, record.ToJsonString(), webhookId);
    }

    /// <summary>`pos import` of a CSV export with the identity columns, the given rows below its header.</summary>
    Task<(int ExitCode, string Output)> ImportAsync(params string[] rows) => ImportAsync(null, rows);

    async Task<(int ExitCode, string Output)> ImportAsync(int? chunkSize, params string[] rows)
    {
        var path = Path.Combine(Path.GetTempPath(), $"pos-claims-{Guid.NewGuid():N}.csv");
        await File.WriteAllLinesAsync(path,
            ["source_record_id,serial_number,status,service_date,work_summary,attachments,updated_at,customer_email,customer_name", .. rows]);
        var settings = new Dictionary<string, string> { ["ConnectionStrings__Postgres"] = _product.Database.ConnectionString };
        if (chunkSize is { } size)
        {
            settings["Pos__ImportChunkSize"] = size.ToString(CultureInfo.InvariantCulture);
        }
        try
        {
            return await HostProcess.RunAsync("PerazziSync.Cli", settings, "pos", "import", path);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
