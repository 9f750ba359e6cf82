using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Dapper;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Pos.Import;
using PerazziSync.Pos.Records;
using PerazziSync.Testing;
using StandardWebhooks;
using Xunit;
using Xunit.Abstractions;

namespace PerazziSync.Reliability.Tests;

/// <summary>Generated bad input, by the thousand: refused with a 4xx or a rejection, never a 5xx, a crash or a write.</summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    const int PerRoute = 5_000;
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task Both_receiver_routes_refuse_10000_bad_callbacks_with_4xx_and_publish_nothing()
    {
        await using var product = await ProductUnderTest.StartAsync(workers: 0);
        var probes = new[]
        {
            await product.Broker.ProbeAsync<BigCommerceOrderChanged>(),
            await product.Broker.ProbeAsync<BigCommerceCustomerChanged>(),
            await product.Broker.ProbeAsync<PosServiceRecordReceived>(),
        };
        var requests = BadInputs.For(pos: true, PerRoute, seed: 1).Select(r => (Pos: true, Request: r))
            .Concat(BadInputs.For(pos: false, PerRoute, seed: 2).Select(r => (Pos: false, Request: r)))
            .ToList();
        var signedAt = DateTimeOffset.UtcNow;
        string Route(bool pos) => product.ReceiverUrl + (pos ? "/webhooks/pos" : "/webhooks/bigcommerce");
        static string Secret(bool pos) => pos ? WebhookSender.PosSecret : WebhookSender.Base64Secret(WebhookSender.BigCommerceClientSecret);

        // Each replay's genuine delivery first, accepted and published: the replay then reuses a
        // webhook-id the receiver has confirmed, with headers genuinely signed, only for another body.
        var replays = Enumerable.Range(0, requests.Count).Where(i => requests[i].Request.Signing == Signing.ReplayedId).ToList();
        await Parallel.ForAsync(0, replays.Count, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (r, cancellationToken) =>
        {
            var (pos, replay) = requests[replays[r]];
            var genuine = new BadRequest("genuine", replay.Genuine!);
            using var response = await Http.SendAsync(Build(Route(pos), Secret(pos), genuine, replays[r], signedAt), cancellationToken);
            var answer = await response.Content.ReadAsStringAsync(cancellationToken);
            Assert.True(response.StatusCode == HttpStatusCode.OK && answer.Contains("\"accepted\"", StringComparison.Ordinal),
                $"the genuine delivery of replay {replays[r]} was not accepted: {(int)response.StatusCode} {answer}");
        });
        var genuinePos = (uint)replays.Count(i => requests[i].Pos);
        Assert.Equal(genuinePos, await product.Broker.MessagesAsync(probes[2]));
        Assert.Equal((uint)replays.Count - genuinePos, await product.Broker.MessagesAsync(probes[0]));

        var statuses = new HttpStatusCode[requests.Count];
        await Parallel.ForAsync(0, requests.Count, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, cancellationToken) =>
        {
            var (pos, bad) = requests[i];
            using var response = await Http.SendAsync(Build(Route(pos), Secret(pos), bad, i, signedAt), cancellationToken);
            statuses[i] = response.StatusCode;
        });

        var table = requests.Select((r, i) => (r.Pos ? "pos" : "bigcommerce", r.Request.Kind, Status: (int)statuses[i]))
            .GroupBy(x => x).OrderBy(g => g.Key.Item1).ThenBy(g => g.Key.Kind)
            .Select(g => $"{g.Key.Item1,-12} {g.Key.Kind,-34} {g.Key.Status} x{g.Count()}");
        output.WriteLine($"{replays.Count} genuine deliveries accepted first, then replayed with other bodies");
        output.WriteLine(string.Join('\n', table));
        Assert.DoesNotContain(statuses, s => (int)s >= 500);
        Assert.All(statuses, s => Assert.Contains(s,
            new[] { HttpStatusCode.BadRequest, HttpStatusCode.Unauthorized, HttpStatusCode.RequestEntityTooLarge, HttpStatusCode.UnsupportedMediaType }));
        Assert.All(replays, i => Assert.Equal(HttpStatusCode.Unauthorized, statuses[i]));
        // Nothing published beyond the genuine deliveries.
        Assert.Equal(genuinePos, await product.Broker.MessagesAsync(probes[2]));
        Assert.Equal((uint)replays.Count - genuinePos, await product.Broker.MessagesAsync(probes[0]));
        Assert.Equal(0u, await product.Broker.MessagesAsync(probes[1]));
        Assert.False(product.Receiver!.HasExited);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(product.ReceiverUrl + "/health/ready")).StatusCode);
        // Still serving good callbacks after all that.
        Assert.Equal(HttpStatusCode.OK, (await product.PosWebhooks.SendAsync(BadInputs.ValidPos(99_999))).StatusCode);
    }

    [Fact]
    public async Task Pos_imports_of_broken_files_reject_the_bad_lines_apply_the_good_ones_and_never_crash()
    {
        await using var database = await TestDatabase.CreateMigratedAsync();
        await using (var seed = await database.OpenAsync())
        {
            await PortalUsers.SeedAsync(seed);
            await PortalUsers.SeedAssetsAsync(seed);
        }
        await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
        var importer = new PosImporter(dataSource, new PosRecordParser(TimeZoneInfo.FindSystemTimeZoneById("Europe/Rome"), TimeProvider.System, new PosOptions().UpdatedAtMaxAhead), 500, new PosOptions().BatchWriteTimeout);
        var folder = Directory.CreateTempSubdirectory("perazzi-fuzz-");
        try
        {
            var random = new Random(3);
            var expectedGood = new HashSet<string>(StringComparer.Ordinal);
            var expectedBad = new Dictionary<string, List<BadLine>>(StringComparer.Ordinal);
            long badLines = 0, rejected = 0;
            var refusedFuzz = new List<string>();
            for (var f = 0; f < 24; f++)
            {
                var ndjson = f % 2 == 0;
                var path = Path.Combine(folder.FullName, string.Create(CultureInfo.InvariantCulture, $"fuzz-{f:D2}.{(ndjson ? "ndjson" : "csv")}"));
                var (good, bad) = ndjson ? WriteNdjson(path, f, random) : WriteCsv(path, f, random);
                badLines += bad.Count;
                expectedBad[Path.GetFileName(path)] = bad;
                try
                {
                    var outcome = (await importer.ImportAsync(path, null, CancellationToken.None))!;
                    rejected += outcome.Rejected;
                    expectedGood.UnionWith(good);
                }
                catch (PosExportException e)
                {
                    refusedFuzz.Add($"{Path.GetFileName(path)}: {e.Message}");
                }
            }
            // A bad line costs its line, never its file: each of these files has good lines too.
            Assert.Empty(refusedFuzz);

            // Files that are not exports at all. A CSV without the required columns cannot be read
            // and is refused whole, saying which columns it lacks (or that its header is not even
            // UTF-8), and an empty one, without even its header, saying so; NDJSON has no header, so each of its lines is refused on its own.
            var unreadable = new Dictionary<string, string>();
            var notExports = new[]
            {
                ("empty.csv", Array.Empty<byte>()),
                ("garbage.csv", Garbage(random)),
                ("no-columns.csv", Encoding.UTF8.GetBytes("a,b,c\n1,2,3\n")),
                ("garbage.ndjson", Garbage(random)),
            };
            var imported = new Dictionary<string, PosImportOutcome>();
            foreach (var (name, bytes) in notExports)
            {
                var path = Path.Combine(folder.FullName, name);
                await File.WriteAllBytesAsync(path, bytes);
                try
                {
                    imported[name] = (await importer.ImportAsync(path, null, CancellationToken.None))!;
                }
                catch (PosExportException e)
                {
                    unreadable[name] = e.Message;
                }
            }
            Assert.Equal(["empty.csv", "garbage.csv", "no-columns.csv"], unreadable.Keys.Order());
            Assert.StartsWith("the CSV file is empty", unreadable["empty.csv"], StringComparison.Ordinal);
            Assert.Equal("the CSV header is not valid UTF-8 text", unreadable["garbage.csv"]);
            Assert.StartsWith("the CSV header lacks source_record_id", unreadable["no-columns.csv"], StringComparison.Ordinal);
            var garbage = imported["garbage.ndjson"];
            Assert.True(garbage.RowsRead > 0 && garbage.Rejected == garbage.RowsRead && garbage.Applied == 0,
                $"garbage.ndjson: {garbage.RowsRead} lines read, {garbage.Rejected} rejected, {garbage.Applied} applied");

            await using var connection = await database.OpenAsync();
            Assert.Equal(["failed", "failed", "failed"], await connection.QueryAsync<string>(
                "select status from perazzi_sync.pos_imports where file_name in ('empty.csv', 'garbage.csv', 'no-columns.csv')"));
            var written = (await connection.QueryAsync<string>("select source_record_id from service_events")).ToHashSet(StringComparer.Ordinal);
            output.WriteLine($"{badLines} bad lines in 24 files: {rejected} lines rejected with a reason, {written.Count} good records applied; " +
                $"of 4 files that are not exports, {unreadable.Count} refused whole ({string.Join(", ", unreadable.Keys.Order())}), " +
                $"every one of the {garbage.Rejected} lines of garbage.ndjson rejected");
            Assert.True(expectedGood.SetEquals(written), "applied but bad: " + string.Join(", ", written.Except(expectedGood).Take(8)) + "; good but missing: " + string.Join(", ", expectedGood.Except(written).Take(8)));
            Assert.Equal(badLines, rejected);
            // Each bad line is a rejection of its own line, with a reason.
            var rejections = (await connection.QueryAsync<(string File, long Line, string Reason)>("""
                select i.file_name, r.line, r.reason from perazzi_sync.pos_import_rejections r
                join perazzi_sync.pos_imports i on i.id = r.import_id where i.file_name like 'fuzz-%'
                """)).ToLookup(r => r.File, r => (r.Line, r.Reason));
            foreach (var (file, bad) in expectedBad)
            {
                Assert.Equal(bad.Select(b => b.Line).Order(), rejections[file].Select(r => r.Line).Order());
                Assert.All(rejections[file], r => Assert.False(string.IsNullOrWhiteSpace(r.Reason)));
            }
            output.WriteLine(string.Join('\n', expectedBad.Values.SelectMany(b => b).GroupBy(b => b.Kind).OrderBy(g => g.Key)
                .Select(g => $"{g.Key,-40} x{g.Count()}")));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>
    /// 4,096 random bytes that do not start as a file in UTF-16 or UTF-32 does, which the product
    /// refuses whole for its encoding (README, POS sync) before a header or a line is read; drawn
    /// again until they do not, so the same seed gives the same bytes.
    /// </summary>
    static byte[] Garbage(Random random)
    {
        while (true)
        {
            var bytes = Enumerable.Range(0, 4096).Select(_ => (byte)random.Next(256)).ToArray();
            if (!StartsWide(bytes))
            {
                return bytes;
            }
        }
    }

    /// <summary>
    /// A UTF-16 or UTF-32 byte-order mark, or the first two characters ASCII in UTF-16 LE or BE or
    /// UTF-32 LE or BE: each a non-NUL byte where its code unit's ASCII byte is, NUL elsewhere.
    /// </summary>
    static bool StartsWide(byte[] bytes)
    {
        if (bytes.AsSpan().StartsWith((byte[])[0xFF, 0xFE]) || bytes.AsSpan().StartsWith((byte[])[0xFE, 0xFF])
            || bytes.AsSpan().StartsWith((byte[])[0x00, 0x00, 0xFE, 0xFF]))
        {
            return true;
        }
        return TwoAscii(width: 2, at: 0) || TwoAscii(width: 2, at: 1) || TwoAscii(width: 4, at: 0) || TwoAscii(width: 4, at: 3);

        bool TwoAscii(int width, int at) => Enumerable.Range(0, 2 * width).All(i => (bytes[i] != 0) == (i % width == at));
    }

    /// <summary>A bad line of a generated export: its line number and what is wrong with it.</summary>
    sealed record BadLine(long Line, string Kind);

    static (List<string> Good, List<BadLine> Bad) WriteNdjson(string path, int file, Random random)
    {
        var good = new List<string>();
        var bad = new List<BadLine>();
        using var stream = File.Create(path);
        for (var line = 0; line < 250; line++)
        {
            byte[] content;
            if (line % 3 == 0)
            {
                var id = string.Create(CultureInfo.InvariantCulture, $"WO-FZ-{file:D2}-{line:D3}");
                content = Encoding.UTF8.GetBytes(BadInputs.ValidPos(0).Replace("WO-FZ-00000", id, StringComparison.Ordinal));
                good.Add(id);
            }
            else if (line == 1)
            {
                content = BadInputs.OverlongNdjson(line);
                bad.Add(new BadLine(line + 1, "line over 1 MiB"));
            }
            else if (line / 6 % 2 == 1)
            {
                var (kind, unstorable) = BadInputs.UnstorableNdjson(file * 1_000 + line, random);
                content = unstorable;
                bad.Add(new BadLine(line + 1, kind));
            }
            else
            {
                var request = BadInputs.For(pos: true, 12, seed: file * 1_000 + line).ElementAt(line % 6);
                // One line per record: a bad record must not spill into the next line.
                content = request.Body.Select(b => b is (byte)'\n' or (byte)'\r' ? (byte)' ' : b).ToArray();
                bad.Add(new BadLine(line + 1, request.Kind));
            }
            stream.Write(content);
            stream.WriteByte((byte)'\n');
        }
        return (good, bad);
    }

    static (List<string> Good, List<BadLine> Bad) WriteCsv(string path, int file, Random random)
    {
        var good = new List<string>();
        var bad = new List<BadLine>();
        var text = new StringBuilder("source_record_id,serial_number,status,service_date,work_summary,attachments,updated_at\n");
        for (var line = 0; line < 250; line++)
        {
            var id = string.Create(CultureInfo.InvariantCulture, $"WO-FZ-{file:D2}-{line:D3}");
            if (line % 3 == 0)
            {
                text.Append(CultureInfo.InvariantCulture, $"{id},HT-009871,completed,2026-03-14T16:00:00+01:00,\"Regulated, \"\"60/40\"\"\",,2026-03-15T09:00:00+01:00\n");
                good.Add(id);
                continue;
            }
            var (kind, row) = line switch
            {
                1 => ("field over 1 MiB", $"{id},HT-009871,completed,,\"{new string('x', (1 << 20) + 1_000)}\",,2026-03-15T09:00:00+01:00\n"),
                2 => ("line of commas over 1 MiB", id + new string(',', (1 << 20) + 1_000) + "\n"),
                _ => (line % 11) switch
                {
                    0 => ("stray quote, extra field", $"{id},HT-009871,completed,2026-03-14,\"stray \"quote\" inside\",,2026-03-15T09:00:00+01:00,extra\n"),
                    1 => ("bad status", $"{id},HT-009871,exploded,2026-03-14T16:00:00+01:00,ok,,2026-03-15T09:00:00+01:00\n"),
                    2 => ("bad updated_at", $"{id},HT-009871,completed,2026-03-14T16:00:00+01:00,ok,,not a time\n"),
                    3 => ("no serial", $"{id},,completed,2026-03-14T16:00:00+01:00,ok,,2026-03-15T09:00:00+01:00\n"),
                    4 => ("id over 200 characters", $"{new string('W', 300)},HT-009871,completed,,ok,,2026-03-15T09:00:00+01:00\n"),
                    5 => ("too few fields", $"{id},HT-009871\n"),
                    6 => ("raw NUL in the id", $"{id}\0,HT-009871,completed,2026-03-14T16:00:00+01:00,ok,,2026-03-15T09:00:00+01:00\n"),
                    7 => ("raw NUL in the summary", $"{id},HT-009871,completed,2026-03-14T16:00:00+01:00,\"Regulated\0\",,2026-03-15T09:00:00+01:00\n"),
                    8 => ("encoded lone surrogate", $"{id},HT-009871,completed,2026-03-14T16:00:00+01:00,bad \uE000 bytes,,2026-03-15T09:00:00+01:00\n"),
                    9 => ("updated_at without a time of day", $"{id},HT-009871,completed,2026-03-14T16:00:00+01:00,ok,,2026-03-15\n"),
                    _ => ("invalid UTF-8", $"{id},HT-009871,completed,2026-03-14T16:00:00+01:00,bad \uFFFD byte,,2026-03-15T09:00:00+01:00\n"),
                },
            };
            text.Append(row);
            bad.Add(new BadLine(line + 2, kind));
        }
        // A quote never closed: it costs its own line, and the lines after it (no quote in them) are read.
        text.Append(CultureInfo.InvariantCulture, $"WO-FZ-{file:D2}-OPEN,HT-009871,completed,,\"never closed,,2026-03-15T09:00:00+01:00\n");
        bad.Add(new BadLine(252, "unclosed quote"));
        for (var after = 0; after < 3; after++)
        {
            var id = string.Create(CultureInfo.InvariantCulture, $"WO-FZ-{file:D2}-END-{after}");
            text.Append(CultureInfo.InvariantCulture, $"{id},HT-009871,completed,2026-03-14T16:00:00+01:00,Regulated,,2026-03-15T09:00:00+01:00\n");
            good.Add(id);
        }
        File.WriteAllBytes(path, WithBrokenBytes(Encoding.UTF8.GetBytes(text.ToString()), random));
        return (good, bad);
    }

    /// <summary>
    /// Each U+FFFD becomes a byte that is not UTF-8 at all, each U+E000 the UTF-8 form of a lone
    /// surrogate (ED A0 80), which no UTF-8 decoder accepts either.
    /// </summary>
    static byte[] WithBrokenBytes(byte[] bytes, Random random)
    {
        var result = new List<byte>(bytes.Length);
        for (var i = 0; i < bytes.Length; i++)
        {
            if (i + 2 < bytes.Length && bytes[i] == 0xEF && bytes[i + 1] == 0xBF && bytes[i + 2] == 0xBD)
            {
                result.Add(random.Next(2) == 0 ? (byte)0xFF : (byte)0xC3);
                i += 2;
            }
            else if (i + 2 < bytes.Length && bytes[i] == 0xEE && bytes[i + 1] == 0x80 && bytes[i + 2] == 0x80)
            {
                result.AddRange([0xED, 0xA0, 0x80]);
                i += 2;
            }
            else
            {
                result.Add(bytes[i]);
            }
        }
        return [.. result];
    }

    /// <summary>Request <paramref name="index"/>, with <c>webhook-id</c> <c>msg_fuzz_{index}</c> signed at <paramref name="signedAt"/> (or long before, when stale).</summary>
    static HttpRequestMessage Build(string url, string secret, BadRequest bad, int index, DateTimeOffset signedAt)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(bad.Body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(bad.ContentType);
        var id = string.Create(CultureInfo.InvariantCulture, $"msg_fuzz_{index}");
        var timestamp = bad.Signing == Signing.Stale ? signedAt.AddMinutes(-10) : signedAt;
        var signed = Encoding.UTF8.GetString(bad.Signing == Signing.ReplayedId ? bad.Genuine! : bad.Body);
        var signature = bad.Signing switch
        {
            Signing.WrongSecret => new StandardWebhook(WebhookSender.Base64Secret("not the secret")).Sign(id, timestamp, signed),
            _ => new StandardWebhook(secret).Sign(id, timestamp, signed),
        };
        if (bad.Signing != Signing.Missing)
        {
            request.Headers.Add("webhook-id", id);
            request.Headers.Add("webhook-timestamp", timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
            request.Headers.Add("webhook-signature", signature);
        }
        return request;
    }
}
