using System.Buffers;
using System.Runtime.InteropServices;

namespace TypedMqtt.Session;

/// <summary>A 64-bit FNV-1a hash of a message's topic and payload: tells a resent message from a new one with the same packet identifier.</summary>
internal static class MessageFingerprint
{
    private const ulong Offset = 14695981039346656037;
    private const ulong Prime = 1099511628211;

    public static ulong Of(string topic, ReadOnlySequence<byte> payload)
    {
        var hash = Add(Offset, MemoryMarshal.AsBytes(topic.AsSpan()));
        foreach (var segment in payload)
        {
            hash = Add(hash, segment.Span);
        }

        return hash;
    }

    private static ulong Add(ulong hash, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * Prime;
        }

        return hash;
    }
}
