using System.Security.Cryptography;

namespace PerazziSync.Pos.Import;

/// <summary>
/// Reads a stream through, hashing (SHA-256) every byte that is read: once the import has read the
/// file to its end, <see cref="Hash"/> is the content it parsed, to compare with the content it was
/// keyed by.
/// </summary>
sealed class HashingStream(Stream source) : ForwardReadStream
{
    readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    /// <summary>The lower-case hex SHA-256 of what was read so far.</summary>
    public string Hash() => Convert.ToHexStringLower(_hash.GetCurrentHash());

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = source.Read(buffer, offset, count);
        _hash.AppendData(buffer, offset, read);
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await source.ReadAsync(buffer, cancellationToken);
        _hash.AppendData(buffer.Span[..read]);
        return read;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
        }
        base.Dispose(disposing);
    }
}
