using System.Buffers;
using System.Text.Unicode;

namespace PerazziSync.Pos.Import;

/// <summary>A record of an export that the reader refused before parsing it.</summary>
sealed record RefusedRecord(long Line, string Reason);

/// <summary>
/// Hands an export to its parser (CsvHelper, or the NDJSON line reader) one record at a time,
/// never holding more than <see cref="MaxRecordBytes"/> of a record: without it a file with no
/// line break, or a CSV quote that is never closed, is read into memory whole.
/// </summary>
/// <remarks>
/// A record that grows past the limit loses its first line: the bytes of that line are dropped,
/// its line break is kept (so the parser behind counts lines as in the file), the line is
/// reported in <see cref="Refused"/>, and reading starts again on the next line. For NDJSON a
/// record is a line. For CSV it ends at a line break outside quotes, by CsvHelper's RFC 4180
/// rules: a field is quoted only if its first character is a quote, <c>""</c> inside it is a
/// quote, and a quote after the closing one makes the rest of the field bad data. A quote still
/// open at the end of the file is an unclosed quote: it costs the line it opened on, and the
/// lines after it are read as records.
/// </remarks>
sealed class BoundedRecordStream(Stream source, bool csv) : ForwardReadStream
{
    /// <summary>The longest record read: 1 MiB, far above any real POS record.</summary>
    public const int MaxRecordBytes = 1 << 20;

    public const string Limit = "1 MiB (1,048,576 bytes)";

    const int ReadSize = 1 << 16;

    static readonly SearchValues<byte> CsvSpecials = SearchValues.Create("\r\n\","u8);

    // [_readStart, _recordStart): records complete and not yet read;
    // [_recordStart, _scan): the record being scanned; [_scan, _end): bytes not scanned yet.
    byte[] _buffer = new byte[2 * ReadSize];
    int _readStart, _recordStart, _scan, _end;
    bool _sourceDone, _discarding, _started, _sawRecord;

    // The line the current record starts on, and the line being scanned.
    long _recordLine = 1, _line = 1;
    bool _afterCarriageReturn;

    // CsvHelper's state for the current field.
    bool _fieldStart = true, _fieldQuoted, _inQuotes, _badData, _afterQuote;

    /// <summary>Records replaced by their line break, in order of their line.</summary>
    public Queue<RefusedRecord> Refused { get; } = new();

    /// <summary>The first lines of the records whose bytes are not UTF-8, in order.</summary>
    readonly Queue<long> _notUtf8 = new();

    /// <summary>
    /// Whether the record that starts on <paramref name="line"/> holds bytes that are not UTF-8;
    /// asked in order of the lines, each once. The text reader behind decodes such bytes as
    /// U+FFFD, which a record may also hold as a character: only the bytes tell the two apart.
    /// </summary>
    public bool NotUtf8(long line)
    {
        while (_notUtf8.TryPeek(out var first) && first < line)
        {
            _notUtf8.Dequeue();
        }
        return _notUtf8.TryPeek(out var next) && next == line && _notUtf8.TryDequeue(out _);
    }

    /// <summary>Notes the current record, which ends at <paramref name="end"/>, if its bytes are not UTF-8.</summary>
    void CheckUtf8(int end)
    {
        // A record ends at an ASCII byte (a line break), which is never part of a multi-byte
        // sequence: its bytes are UTF-8 or not on their own.
        if (!Utf8.IsValid(_buffer.AsSpan(_recordStart, end - _recordStart)))
        {
            _notUtf8.Enqueue(_recordLine);
        }
    }

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        while (_readStart == _recordStart)
        {
            if (_sourceDone && _scan == _end)
            {
                if (!AtEndOfFile())
                {
                    return 0;
                }
                continue;
            }
            if (_scan == _end)
            {
                await FillAsync(cancellationToken);
                continue;
            }
            Scan();
        }
        var count = Math.Min(destination.Length, _recordStart - _readStart);
        _buffer.AsMemory(_readStart, count).CopyTo(destination);
        _readStart += count;
        return count;
    }

    async Task FillAsync(CancellationToken cancellationToken)
    {
        // Only the record being scanned is kept; it is at most MaxRecordBytes, so the buffer
        // never grows past the limit and one read.
        Buffer.BlockCopy(_buffer, _recordStart, _buffer, 0, _end - _recordStart);
        _scan -= _recordStart;
        _end -= _recordStart;
        _readStart = _recordStart = 0;
        if (_buffer.Length - _end < ReadSize)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _end + ReadSize));
        }
        var read = await source.ReadAsync(_buffer.AsMemory(_end, ReadSize), cancellationToken);
        _end += read;
        _sourceDone = read == 0;
    }

    /// <summary>The first two characters are ASCII in UTF-16 LE or BE, or in UTF-32 LE or BE.</summary>
    static bool LooksWide(ReadOnlySpan<byte> start) =>
        TwoAscii(start, width: 2, at: 0) || TwoAscii(start, width: 2, at: 1) || TwoAscii(start, width: 4, at: 0) || TwoAscii(start, width: 4, at: 3);

    /// <summary>Two code units of <paramref name="width"/> bytes, each NUL but for its byte at <paramref name="at"/>.</summary>
    static bool TwoAscii(ReadOnlySpan<byte> start, int width, int at)
    {
        if (start.Length < 2 * width)
        {
            return false;
        }
        for (var i = 0; i < 2 * width; i++)
        {
            if ((start[i] != 0) != (i % width == at))
            {
                return false;
            }
        }
        return true;
    }

    void Scan()
    {
        if (!_started)
        {
            _started = true;
            var start = _buffer.AsSpan(_scan, _end - _scan);
            // A UTF-8 byte-order mark is no character of the first field (the text reader drops it).
            if (start.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
            {
                _scan += 3;
            }
            // A UTF-16 or UTF-32 one (as Windows tools write "Unicode" text) says the whole file is
            // in an encoding whose line breaks and quotes are not the bytes scanned here, and whose
            // every character outside ASCII would be refused as not UTF-8. (UTF-32 LE starts as
            // UTF-16 LE does.)
            else if (start.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]) || start.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF])
                || start.StartsWith((ReadOnlySpan<byte>)[0x00, 0x00, 0xFE, 0xFF]))
            {
                throw new PosExportException("the file is UTF-16 or UTF-32 (its byte-order mark says so): an export is UTF-8 text, save it as UTF-8");
            }
            // Without a mark, its first two characters (a column name or '{', ASCII) tell it: each
            // has a NUL byte beside it, which no UTF-8 export holds there. Read byte by byte, every
            // record would be rejected for its NULs.
            else if (LooksWide(start))
            {
                throw new PosExportException("the file looks like UTF-16 or UTF-32 without a byte-order mark (NUL bytes between its first characters): an export is UTF-8 text, save it as UTF-8");
            }
        }
        while (_scan < _end)
        {
            if (_discarding)
            {
                Discard();
                continue;
            }
            var rest = _buffer.AsSpan(_scan, _end - _scan);
            var at = !csv ? rest.IndexOfAny((byte)'\r', (byte)'\n')
                : _inQuotes ? rest.IndexOfAny((byte)'\r', (byte)'\n', (byte)'"')
                : rest.IndexOfAny(CsvSpecials);
            if (at != 0)
            {
                Content(at < 0 ? rest.Length : at);
            }
            // Before the line break that would end the record: the record is too long already.
            if (_scan - _recordStart > MaxRecordBytes)
            {
                Overflow();
                continue;
            }
            if (at >= 0)
            {
                Special(_buffer[_scan++]);
                if (_scan - _recordStart > MaxRecordBytes)
                {
                    Overflow();
                }
            }
        }
    }

    /// <summary>Bytes that are neither quote, delimiter nor line break.</summary>
    void Content(int count)
    {
        _scan += count;
        _fieldStart = false;
        _afterQuote = false;
        _afterCarriageReturn = false;
    }

    void Special(byte c)
    {
        var lineBreak = c == (byte)'\r' || (c == (byte)'\n' && !_afterCarriageReturn);
        _afterCarriageReturn = c == (byte)'\r';
        if (!csv)
        {
            EndLine(lineBreak, endsRecord: true);
            return;
        }
        switch (c)
        {
            case (byte)'"':
                if (_fieldStart)
                {
                    _fieldQuoted = _inQuotes = true;
                }
                else if (_fieldQuoted)
                {
                    if (!_inQuotes && !_afterQuote)
                    {
                        _badData = true;
                    }
                    else if (!_badData)
                    {
                        _inQuotes = !_inQuotes;
                    }
                }
                _fieldStart = false;
                _afterQuote = true;
                return;
            case (byte)',' when !_inQuotes:
                _fieldStart = true;
                _fieldQuoted = _badData = _afterQuote = false;
                return;
            case (byte)',':
                _afterQuote = false;
                return;
            default:
                EndLine(lineBreak, endsRecord: !_inQuotes);
                _afterQuote = false;
                return;
        }
    }

    void EndLine(bool lineBreak, bool endsRecord)
    {
        if (lineBreak)
        {
            _line++;
        }
        if (!endsRecord)
        {
            _fieldStart = false;
            return;
        }
        // The \n of a \r\n is an empty record of no line of its own.
        _sawRecord |= _scan - _recordStart > 1;
        CheckUtf8(_scan);
        _recordStart = _scan;
        _recordLine = _line;
        ResetFields();
    }

    void ResetFields()
    {
        _fieldStart = true;
        _fieldQuoted = _inQuotes = _badData = _afterQuote = false;
    }

    void Overflow()
    {
        if (csv && !_sawRecord)
        {
            throw new PosExportException($"the CSV header is longer than {Limit}, the limit of a record");
        }
        var reason = csv && _inQuotes
            ? $"the record is longer than {Limit}, the limit of a record: a quoted field opened on this line is not closed within it"
            : $"the {(csv ? "record" : "line")} is longer than {Limit}, the limit of a record";
        Refuse(reason);
    }

    /// <summary>At the end of the file: false when all is read, true when there is more to scan.</summary>
    bool AtEndOfFile()
    {
        if (csv && _inQuotes && _buffer.AsSpan(_recordStart, _end - _recordStart).IndexOfAny((byte)'\r', (byte)'\n') >= 0)
        {
            if (!_sawRecord)
            {
                throw new PosExportException("the CSV header opens a quote it never closes");
            }
            Refuse("a quoted field opened on this line is never closed");
            return true;
        }
        // The last record, without a line break after it.
        CheckUtf8(_end);
        _recordStart = _end;
        return _readStart < _recordStart;
    }

    /// <summary>
    /// Drops the first line of the current record, keeping its line break, and scans again from
    /// there; a record that has no line break yet is dropped up to the next one.
    /// </summary>
    void Refuse(string reason)
    {
        Refused.Enqueue(new RefusedRecord(_recordLine, reason));
        var record = _buffer.AsSpan(_recordStart, _scan - _recordStart);
        var firstBreak = record.IndexOfAny((byte)'\r', (byte)'\n');
        var drop = firstBreak >= 0 ? firstBreak : record.Length;
        Buffer.BlockCopy(_buffer, _recordStart + drop, _buffer, _recordStart, _end - _recordStart - drop);
        _end -= drop;
        _scan = _recordStart;
        _line = _recordLine;
        _discarding = firstBreak < 0;
        _afterCarriageReturn = false;
        ResetFields();
    }

    void Discard()
    {
        var rest = _buffer.AsSpan(_scan, _end - _scan);
        var at = rest.IndexOfAny((byte)'\r', (byte)'\n');
        var drop = at >= 0 ? at : rest.Length;
        Buffer.BlockCopy(_buffer, _scan + drop, _buffer, _scan, _end - _scan - drop);
        _end -= drop;
        _discarding = at < 0;
    }
}
