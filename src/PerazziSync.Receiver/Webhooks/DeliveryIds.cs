using System.Security.Cryptography;
using System.Text;

namespace PerazziSync.Receiver.Webhooks;

static class DeliveryIds
{
    /// <summary>
    /// The MessageId of a delivery: the same delivery (its <c>webhook-id</c>, and under a shared
    /// header its body's digest) on the same route always gives the same id, so a sender's retry
    /// is recognisably the same message on the broker and in the audit trail.
    /// </summary>
    public static Guid MessageId(string route, string delivery)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{route}\n{delivery}"), hash);
        var bytes = hash[..16];
        // Mark it as an RFC 9562 version 8 (custom) UUID, in .NET's byte order.
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x80);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes);
    }
}
