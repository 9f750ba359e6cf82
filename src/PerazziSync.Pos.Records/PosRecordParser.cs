using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using PerazziSync.Contracts;

namespace PerazziSync.Pos.Records;

/// <summary>
/// Turns one POS record as received (a callback body, a CSV row, an NDJSON line) into a
/// <see cref="PosServiceRecord"/>, or says why it cannot be used (docs/sources.md). Its
/// <paramref name="clock"/> says when a record is received, which its <c>updated_at</c> may be
/// ahead of by <paramref name="updatedAtMaxAhead"/> at most (<see cref="PosOptions.UpdatedAtMaxAhead"/>).
/// </summary>
public sealed partial class PosRecordParser(TimeZoneInfo zone, TimeProvider clock, TimeSpan updatedAtMaxAhead)
{
    public const int MaxIdLength = 200;

    /// <summary>Far above any Perazzi serial; longer is not a serial number.</summary>
    public const int MaxSerialLength = 100;

    /// <summary>A rejection's reason quotes at most this much of what it refuses.</summary>
    public const int MaxReasonLength = 500;

    static readonly HashSet<string> Statuses = new(StringComparer.Ordinal) { "received", "in_service", "completed" };

    /// <summary>
    /// A record from a JSON object; <paramref name="raw"/> is kept as raw_payload. The text is
    /// taken as sent: bytes that were not UTF-8 are refused by the caller, which has them (the
    /// receiver, the export reader), so a U+FFFD here is a character.
    /// </summary>
    public PosParseResult FromJson(JsonElement record, string raw)
    {
        if (record.ValueKind != JsonValueKind.Object)
        {
            return PosParseResult.Reject(null, "the record is not a JSON object");
        }
        string? Text(string name, out string? error)
        {
            error = null;
            if (!record.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }
            if (value.ValueKind != JsonValueKind.String)
            {
                error = $"{name} must be a string";
                return null;
            }
            return JsonText.Of(value);
        }
        var id = Text("source_record_id", out var idError);
        if (idError is not null)
        {
            return PosParseResult.Reject(null, idError);
        }
        // raw_payload is stored as jsonb: the whole record, extra fields and keys included,
        // must be something jsonb holds, or the chunk (or the callback's message) that carries
        // it would fail in the database.
        if (JsonbValue.Problem(record) is { } unstorable)
        {
            return PosParseResult.Reject(id?.Trim(), $"PostgreSQL cannot store the record: it contains {unstorable}");
        }
        var fields = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var name in new[] { "serial_number", "status", "service_date", "work_summary", "updated_at", "customer_email", "customer_name" })
        {
            fields[name] = Text(name, out var error);
            if (error is not null)
            {
                return PosParseResult.Reject(id, error);
            }
        }
        var attachments = new List<string>();
        if (record.TryGetProperty("attachments", out var list) && list.ValueKind != JsonValueKind.Null)
        {
            if (list.ValueKind != JsonValueKind.Array || list.EnumerateArray().Any(a => a.ValueKind != JsonValueKind.String))
            {
                return PosParseResult.Reject(id, "attachments must be a list of storage paths");
            }
            attachments.AddRange(list.EnumerateArray().Select(a => a.GetString()!).Where(a => a.Length > 0));
        }
        return Build(id, fields, attachments, raw);
    }

    /// <summary>A record from a CSV row (header → value); attachments are <c>;</c>-separated.</summary>
    public PosParseResult FromCsv(IReadOnlyDictionary<string, string?> row, string raw)
    {
        foreach (var (column, value) in row)
        {
            if ((StorableText.Problem(column) ?? StorableText.Problem(value)) is { } unstorable)
            {
                return PosParseResult.Reject(row.GetValueOrDefault("source_record_id")?.Trim(),
                    $"PostgreSQL cannot store the record: it contains {unstorable}");
            }
        }
        var attachments = (row.GetValueOrDefault("attachments") ?? "")
            .Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .ToList();
        return Build(row.GetValueOrDefault("source_record_id"), row, attachments, raw);
    }

    PosParseResult Build(string? id, IReadOnlyDictionary<string, string?> fields, List<string> attachments, string raw)
    {
        id = id?.Trim();
        if (string.IsNullOrEmpty(id))
        {
            return PosParseResult.Reject(null, "source_record_id is missing");
        }
        if (id.Length > MaxIdLength)
        {
            return PosParseResult.Reject(Shorten(id), $"source_record_id is longer than {MaxIdLength} characters");
        }
        // The keys are shown wherever the record goes (the portal, logs, the Cli, the review of a
        // claim): a control character there is a terminal's command and a bidirectional override
        // makes one serial read as another, never part of a work order's name.
        if (Misleading(id) is { } idMisleads)
        {
            return PosParseResult.Reject(PrintableText.Of(id), $"source_record_id contains {idMisleads}");
        }
        var serial = Blank(fields.GetValueOrDefault("serial_number"))?.Trim();
        if (string.IsNullOrEmpty(serial))
        {
            return PosParseResult.Reject(id, "serial_number is missing");
        }
        if (serial.Length > MaxSerialLength)
        {
            return PosParseResult.Reject(id, $"serial_number is longer than {MaxSerialLength} characters");
        }
        if (Misleading(serial) is { } serialMisleads)
        {
            return PosParseResult.Reject(id, $"serial_number contains {serialMisleads}");
        }
        var status = Blank(fields.GetValueOrDefault("status"))?.Trim();
        if (status is null || !Statuses.Contains(status))
        {
            return PosParseResult.Reject(id, status is null
                ? "status is missing"
                : $"status '{Shorten(status)}' is not one of received, in_service, completed");
        }
        DateTimeOffset? serviceDate = null;
        if (Blank(fields.GetValueOrDefault("service_date")) is { } serviceText)
        {
            if (ParseTime(serviceText, out var serviceUnstorable) is not { } parsed)
            {
                return PosParseResult.Reject(id, TimeRefused("service_date", serviceText, serviceUnstorable));
            }
            serviceDate = parsed;
        }
        var updatedText = Blank(fields.GetValueOrDefault("updated_at"));
        if (updatedText is null)
        {
            return PosParseResult.Reject(id, "updated_at is missing");
        }
        if (ParseTime(updatedText, out var updatedUnstorable) is not { } updatedAt)
        {
            return PosParseResult.Reject(id, TimeRefused("updated_at", updatedText, updatedUnstorable));
        }
        // updated_at is the record's version: a date alone would read as midnight and order
        // the day's versions of a work order arbitrarily.
        if (!HasTimeOfDay().IsMatch(updatedText.Trim()))
        {
            return PosParseResult.Reject(id, $"updated_at '{Shorten(updatedText)}' has no time of day; it is the record's version");
        }
        // The version as PostgreSQL stores it, in whole microseconds: the importer and the group
        // writer order versions before the database does, and a tenth of a microsecond must not
        // make one version newer there while the database finds the two equal (and orders them by
        // their digest).
        updatedAt = updatedAt.AddTicks(-(updatedAt.Ticks % TimeSpan.TicksPerMicrosecond));
        // A version from the future would win over every genuine one sent until then: the work
        // order would be locked, each later update found stale.
        var received = clock.GetUtcNow();
        if (updatedAt - received > updatedAtMaxAhead)
        {
            return PosParseResult.Reject(id, string.Create(CultureInfo.InvariantCulture,
                $"updated_at '{Shorten(updatedText)}' is more than {updatedAtMaxAhead:c} ahead of the time it was received, {received.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ} (Pos:UpdatedAtMaxAhead); it is the record's version, and every later version would be stale"));
        }
        return PosParseResult.Accept(new PosServiceRecord(
            id, serial, status, serviceDate, Blank(fields.GetValueOrDefault("work_summary")), attachments, updatedAt, raw,
            Blank(fields.GetValueOrDefault("customer_email"))?.Trim(), Blank(fields.GetValueOrDefault("customer_name"))?.Trim()));
    }

    /// <summary>Why the time <paramref name="text"/> of <paramref name="field"/> is refused.</summary>
    static string TimeRefused(string field, string text, bool unstorable) => unstorable
        ? $"{field} '{Shorten(text)}' is not a time PostgreSQL can store as sent: only times from 0001-01-01T00:00:00.000001Z to 9999-12-31T23:59:59.9999998Z are (0001-01-01T00:00:00Z and 9999-12-31T23:59:59.9999999Z would be stored as -infinity and infinity)"
        : $"{field} '{Shorten(text)}' is not an ISO-8601 date-time";

    /// <summary>
    /// ISO-8601; a time without an offset is in the POS time zone. Null when
    /// <paramref name="text"/> is no such time, or is one that cannot be stored faithfully
    /// (<paramref name="unstorable"/>): an instant outside what .NET holds, or one of its two ends,
    /// which Npgsql sends as -infinity and infinity (a POS that leaves a date unset writes
    /// 0001-01-01; stored as -infinity, such a version would be older than any other, for ever).
    /// </summary>
    public DateTimeOffset? ParseTime(string text, out bool unstorable)
    {
        unstorable = false;
        text = text.Trim();
        var match = IsoDateTime().Match(text);
        var offsetText = match.Groups["offset"];
        if (!match.Success
            || !DateTime.TryParse(text[..(offsetText.Success ? offsetText.Index : text.Length)], CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
        {
            return null;
        }
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        long utc;
        if (offsetText.Success)
        {
            if (Offset(offsetText.Value) is not { } offset)
            {
                return null;
            }
            utc = local.Ticks - offset.Ticks;
        }
        else
        {
            var offset = EarlierOffset(local);
            utc = local.Ticks - offset;
            // No instant shows a time the clocks skipped. Asked of the instant rather than of
            // IsInvalidTime, which knows the gaps of daylight saving time but not those of a zone
            // moving its standard time (Samoa's lost day).
            if (utc > DateTime.MinValue.Ticks && utc < DateTime.MaxValue.Ticks && OffsetAt(utc) != offset)
            {
                utc = InstantInGap(local);
            }
        }
        // From the first whole microsecond: updated_at is cut to microseconds, and a tenth of one
        // would be cut to the first instant.
        if (utc < DateTime.MinValue.Ticks + TimeSpan.TicksPerMicrosecond || utc >= DateTime.MaxValue.Ticks)
        {
            unstorable = true;
            return null;
        }
        return new DateTimeOffset(utc, TimeSpan.Zero);
    }

    /// <summary>
    /// The offset <paramref name="local"/> is read with. A wall-clock time the clocks showed twice,
    /// set back, is read as the earlier of the two, with the offset in effect before they were set
    /// back: the offset 15 hours before <paramref name="local"/> read as UTC (no offset is beyond
    /// 14 hours), when an instant with that offset shows <paramref name="local"/>. Asked of the
    /// instants rather than of IsAmbiguousTime, which misses the last tick of the hour Rome
    /// repeats (02:59:59.9999999) and every time repeated as a zone moves its standard time back
    /// (Moscow on 2014-10-26).
    /// </summary>
    long EarlierOffset(DateTime local)
    {
        var offset = zone.GetUtcOffset(local).Ticks;
        var before = OffsetAt(Math.Max(local.Ticks - TimeSpan.FromHours(15).Ticks, DateTime.MinValue.Ticks));
        return before > offset && OffsetAt(local.Ticks - before) == before ? before : offset;
    }

    /// <summary>
    /// The instant a wall-clock time the clocks skipped names, read the way clocks show it: with
    /// the offset in effect before they jumped, so that it falls as far after the jump as it
    /// falls after the gap's start. The gap is the zone's own: an hour in Rome, half an hour on
    /// Lord Howe Island, a whole day in Samoa at the end of 2011.
    /// </summary>
    long InstantInGap(DateTime local)
    {
        // The wall clock (an instant plus the offset then) only jumps forward across a gap: the
        // last instant it shows no later than `local` is the one before the jump. No offset is
        // beyond 14 hours, so that instant lies within 15 hours of `local` read as UTC.
        var window = TimeSpan.FromHours(15).Ticks;
        long before = Math.Max(local.Ticks - window, DateTime.MinValue.Ticks), after = Math.Min(local.Ticks + window, DateTime.MaxValue.Ticks);
        while (after - before > 1)
        {
            var middle = before + (after - before) / 2;
            if (middle + OffsetAt(middle) > local.Ticks)
            {
                after = middle;
            }
            else
            {
                before = middle;
            }
        }
        return local.Ticks - OffsetAt(before);
    }

    long OffsetAt(long utcTicks) => zone.GetUtcOffset(new DateTime(utcTicks, DateTimeKind.Utc)).Ticks;

    /// <summary>An ISO-8601 offset (<c>Z</c>, <c>+01:00</c>, <c>-0530</c>), or null beyond the ±14 hours an offset may be.</summary>
    static TimeSpan? Offset(string text)
    {
        if (text == "Z")
        {
            return TimeSpan.Zero;
        }
        var digits = text[1..].Replace(":", "", StringComparison.Ordinal);
        var (hours, minutes) = (int.Parse(digits[..2], CultureInfo.InvariantCulture), int.Parse(digits[2..], CultureInfo.InvariantCulture));
        var offset = new TimeSpan(hours, minutes, 0);
        return minutes > 59 || offset > TimeSpan.FromHours(14) ? null : text[0] == '-' ? -offset : offset;
    }

    static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    /// <summary>
    /// The first character of <paramref name="value"/> that <see cref="PrintableText"/> would
    /// replace, named with its code (<c>the control character U+001B</c>); null when it has none.
    /// </summary>
    static string? Misleading(string value)
    {
        foreach (var c in value)
        {
            if (PrintableText.Misleads(c))
            {
                return $"the {(char.IsControl(c) ? "control" : "bidirectional formatting")} character U+{(int)c:X4}";
            }
        }
        return null;
    }

    /// <summary>What a reason quotes of a value: its start, as <see cref="PrintableText"/> (reasons are logged and printed).</summary>
    static string Shorten(string value) => PrintableText.Of(value, 41);

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?)?(?<offset>Z|[+-]\d{2}:?\d{2})?$")]
    private static partial Regex IsoDateTime();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")]
    private static partial Regex HasTimeOfDay();
}

/// <summary>A usable record, or the reason a record cannot be used.</summary>
public sealed record PosParseResult(PosServiceRecord? Record, string? SourceRecordId, string? Error)
{
    public static PosParseResult Accept(PosServiceRecord record) => new(record, record.SourceRecordId, null);

    /// <summary>
    /// A refusal. Both id and reason quote input, so both are made storable here: whatever the
    /// record held, its rejection can be recorded.
    /// </summary>
    public static PosParseResult Reject(string? sourceRecordId, string error) =>
        new(null, StorableText.Of(sourceRecordId, PosRecordParser.MaxIdLength), StorableText.Of(error, PosRecordParser.MaxReasonLength));
}
