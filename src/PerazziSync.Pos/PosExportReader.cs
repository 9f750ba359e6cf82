using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using CsvHelper;
using CsvHelper.Configuration;

namespace PerazziSync.Pos;

/// <summary>One row of an export: its first line in the file and what it parsed to.</summary>
public sealed record PosExportRow(long Line, PosParseResult Result);

/// <summary>
/// Reads a POS export one row at a time (memory does not grow with the file): CSV with a header
/// row (RFC 4180, through CsvHelper) or NDJSON, UTF-8 with or without a byte-order mark.
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
        format == "csv" ? ReadCsvAsync(stream, parser, cancellationToken) : ReadNdjsonAsync(stream, parser, cancellationToken);

    static async IAsyncEnumerable<PosExportRow> ReadCsvAsync(
        Stream stream, PosRecordParser parser, [EnumeratorCancellation] CancellationToken cancellationToken)
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
        if (!await csv.ReadAsync() || !csv.ReadHeader())
        {
            yield break;
        }
        var header = csv.HeaderRecord!.Select(h => h.Trim()).ToArray();
        var missing = Columns.Where(c => c is "source_record_id" or "serial_number" or "status" or "updated_at")
            .Except(header, StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            throw new PosExportException($"the CSV header lacks {string.Join(", ", missing)}");
        }
        long lastLine = csv.Parser.RawRow;
        // The row as received, as a JSON object of its columns, for raw_payload.
        var json = new ArrayBufferWriter<byte>(1024);
        while (await csv.ReadAsync())
        {
            cancellationToken.ThrowIfCancellationRequested();
            // A quoted field may span lines: the row starts on the line after the previous row ended.
            var line = lastLine + 1;
            lastLine = csv.Parser.RawRow;
            var fields = csv.Parser.Record ?? [];
            if (fields.Length != header.Length)
            {
                yield return new PosExportRow(line, PosParseResult.Reject(
                    fields.Length > 0 ? fields[0] : null, $"the row has {fields.Length} fields, the header {header.Length}"));
                continue;
            }
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
            yield return new PosExportRow(line, parser.FromCsv(row, Encoding.UTF8.GetString(json.WrittenSpan)));
        }
    }

    static async IAsyncEnumerable<PosExportRow> ReadNdjsonAsync(
        Stream stream, PosRecordParser parser, [EnumeratorCancellation] CancellationToken cancellationToken)
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
            yield return new PosExportRow(line, result);
        }
    }
}

/// <summary>An export that cannot be read at all (unknown format, no usable header).</summary>
public sealed class PosExportException(string message) : Exception(message);
