using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using CsvHelper;
using CsvHelper.Configuration;
using PerazziSync.Contracts;
using PerazziSync.Pos.Records;

namespace PerazziSync.Pos.Import;

/// <summary>One row of an export: its first line in the file and what it parsed to.</summary>
public sealed record PosExportRow(long Line, PosParseResult Result);

/// <summary>
/// Reads a POS export one row at a time (memory does not grow with the file): CSV with a header
/// row (RFC 4180, through CsvHelper) or NDJSON, UTF-8 with or without a byte-order mark. A
/// record longer than <see cref="BoundedRecordStream.Limit"/> is a rejected row, as is the line
/// that opens a CSV quote never closed.
/// </summary>
public static class PosExportReader
{
    static readonly string[] Columns =
        ["source_record_id", "serial_number", "status", "service_date", "work_summary", "attachments", "updated_at"];

    public static string FormatOf(string path) =>
        Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".csv" => "csv",
            ".ndjson" or ".jsonl" => "ndjson",
            var other => throw new PosExportException($"{Path.GetFileName(path)}: unknown export format '{other}' (expected .csv or .ndjson)"),
        };

    public static IAsyncEnumerable<PosExportRow> ReadAsync(Stream stream, string format, PosRecordParser parser, CancellationToken cancellationToken) =>
        format == "csv"
            ? ReadCsvAsync(new BoundedRecordStream(stream, csv: true), parser, cancellationToken)
            : ReadNdjsonAsync(new BoundedRecordStream(stream, csv: false), parser, cancellationToken);

    /// <summary>
    /// <paramref name="parsed"/>, the record starting on <paramref name="line"/>, or its refusal
    /// when its bytes are not UTF-8 (an export saved in another encoding, say): the record read
    /// is then not the text that was written. A U+FFFD that is UTF-8 in the file is a character.
    /// </summary>
    static PosParseResult Utf8Checked(BoundedRecordStream records, long line, PosParseResult parsed) =>
        records.NotUtf8(line)
            ? PosParseResult.Reject(parsed.SourceRecordId?.Replace('\uFFFD', '?'), "the record is not valid UTF-8 text")
            : parsed;

    /// <summary>The records refused before <paramref name="line"/>, as rejected rows.</summary>
    static IEnumerable<PosExportRow> RefusedBefore(BoundedRecordStream records, long line)
    {
        while (records.Refused.TryPeek(out var refused) && refused.Line < line)
        {
            records.Refused.Dequeue();
            yield return new PosExportRow(refused.Line, PosParseResult.Reject(null, refused.Reason));
        }
    }

    static async IAsyncEnumerable<PosExportRow> ReadCsvAsync(
        BoundedRecordStream stream, PosRecordParser parser, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var text = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: false), detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        var configuration = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            // Bad rows are reported by line, not thrown: one broken row must not stop the file.
            BadDataFound = null,
            MissingFieldFound = null,
            DetectColumnCountChanges = false,
        };
        using var csv = new CsvReader(text, configuration);
        // A CSV export without its header is none: a file truncated to nothing, or not written yet.
        if (!await csv.ReadAsync() || !csv.ReadHeader())
        {
            throw new PosExportException("the CSV file is empty: an export begins with its header line");
        }
        if (stream.NotUtf8(csv.Parser.RawRow - LineBreaksInFields(csv.Parser)))
        {
            throw new PosExportException("the CSV header is not valid UTF-8 text");
        }
        var header = csv.HeaderRecord!.Select(h => h.Trim()).ToArray();
        // A column named twice has two values in every row, and raw_payload, an object of the row's
        // columns, could keep only one of them: which status, say, is the record's is not for the
        // reader to guess. (Columns without a name, as trailing commas make, are none it reads.)
        if (header.Where(h => h.Length > 0).GroupBy(h => h, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new PosExportException($"the CSV header names the column '{PrintableText.Of(twice.Key, 41)}' {twice.Count()} times");
        }
        var missing = Columns.Where(c => c is "source_record_id" or "serial_number" or "status" or "updated_at")
            .Except(header, StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            throw new PosExportException($"the CSV header lacks {string.Join(", ", missing)}");
        }
        // The row as received, as a JSON object of its columns, for raw_payload.
        var json = new ArrayBufferWriter<byte>(1024);
        while (await csv.ReadAsync())
        {
            cancellationToken.ThrowIfCancellationRequested();
            // RawRow is the line the row ends on; a quoted field may span lines, and blank lines
            // (a refused record leaves one) may come before the row.
            var line = csv.Parser.RawRow - LineBreaksInFields(csv.Parser);
            foreach (var refused in RefusedBefore(stream, line))
            {
                yield return refused;
            }
            if (csv.Parser.Count != header.Length)
            {
                yield return new PosExportRow(line, Utf8Checked(stream, line, PosParseResult.Reject(
                    csv.Parser.Count > 0 ? csv.Parser[0] : null, $"the row has {csv.Parser.Count} fields, the header {header.Length}")));
                continue;
            }
            var fields = csv.Parser.Record!;
            var row = new Dictionary<string, string?>(header.Length, StringComparer.Ordinal);
            json.Clear();
            using (var raw = new Utf8JsonWriter(json))
            {
                raw.WriteStartObject();
                for (var i = 0; i < header.Length; i++)
                {
                    row[header[i]] = fields[i];
                    raw.WriteString(header[i], fields[i]);
                }
                raw.WriteEndObject();
            }
            yield return new PosExportRow(line, Utf8Checked(stream, line, parser.FromCsv(row, Encoding.UTF8.GetString(json.WrittenSpan))));
        }
        foreach (var refused in RefusedBefore(stream, long.MaxValue))
        {
            yield return refused;
        }
    }

    /// <summary>Line breaks inside the row's quoted fields: \r\n, \r and \n count one each, as in CsvHelper.</summary>
    static int LineBreaksInFields(IParser parser)
    {
        var breaks = 0;
        for (var i = 0; i < parser.Count; i++)
        {
            var field = parser[i].AsSpan();
            for (var at = field.IndexOfAny('\r', '\n'); at >= 0; at = field.IndexOfAny('\r', '\n'))
            {
                breaks++;
                var width = field[at] == '\r' && at + 1 < field.Length && field[at + 1] == '\n' ? 2 : 1;
                field = field[(at + width)..];
            }
        }
        return breaks;
    }

    static async IAsyncEnumerable<PosExportRow> ReadNdjsonAsync(
        BoundedRecordStream stream, PosRecordParser parser, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var text = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: false), detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        long line = 0;
        while (await text.ReadLineAsync(cancellationToken) is { } content)
        {
            line++;
            if (string.IsNullOrWhiteSpace(content))
            {
                continue;
            }
            PosParseResult result;
            try
            {
                using var document = JsonDocument.Parse(content);
                result = parser.FromJson(document.RootElement, content);
            }
            catch (JsonException e)
            {
                result = PosParseResult.Reject(null, $"not JSON: {e.Message}");
            }
            result = Utf8Checked(stream, line, result);
            foreach (var refused in RefusedBefore(stream, line))
            {
                yield return refused;
            }
            yield return new PosExportRow(line, result);
        }
        foreach (var refused in RefusedBefore(stream, long.MaxValue))
        {
            yield return refused;
        }
    }
}

/// <summary>An export that cannot be read at all (unknown format, no usable header), or one given up on.</summary>
public sealed class PosExportException(string message, Exception? innerException = null) : Exception(message, innerException);
