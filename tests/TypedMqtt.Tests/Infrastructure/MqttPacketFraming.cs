namespace TypedMqtt.Tests.Infrastructure;

/// <summary>MQTT control packet types (the high nibble of the first byte of the fixed header).</summary>
public enum MqttPacketKind
{
    Connect = 1,
    ConnAck = 2,
    Publish = 3,
    PubAck = 4,
    PubRec = 5,
    PubRel = 6,
    PubComp = 7,
    Subscribe = 8,
    SubAck = 9,
    Unsubscribe = 10,
    UnsubAck = 11,
    PingReq = 12,
    PingResp = 13,
    Disconnect = 14,
    Auth = 15,
}

/// <summary>
/// Finds packet boundaries in an MQTT byte stream from the fixed header alone: one byte of type and flags, then the
/// remaining length as a variable byte integer (7 bits a byte, least significant first, high bit = more, at most 4
/// bytes, MQTT 5 section 1.5.5).
/// </summary>
public static class MqttPacketFraming
{
    /// <summary>The largest remaining length four bytes can encode (268,435,455).</summary>
    public const int MaximumRemainingLength = 268_435_455;

    /// <summary>
    /// Reads the fixed header at the start of <paramref name="data"/>. Returns <see langword="true"/> with the total packet
    /// length (header included) when the header is complete, even if the packet body is not all there yet.
    /// </summary>
    /// <param name="data">Bytes starting at a packet boundary.</param>
    /// <param name="packetLength">Fixed header plus remaining length.</param>
    /// <returns>False when more bytes are needed to read the header.</returns>
    /// <exception cref="InvalidDataException">The remaining length uses more than four bytes.</exception>
    public static bool TryReadHeader(ReadOnlySpan<byte> data, out int packetLength)
    {
        packetLength = 0;
        var remaining = 0;
        for (var i = 1; i <= 4; i++)
        {
            if (data.Length <= i)
            {
                return false;
            }

            var b = data[i];
            remaining |= (b & 0x7F) << (7 * (i - 1));
            if ((b & 0x80) == 0)
            {
                packetLength = 1 + i + remaining;
                return true;
            }
        }

        throw new InvalidDataException("The remaining length of an MQTT packet uses more than four bytes.");
    }

    /// <summary>The packet type in a first header byte.</summary>
    /// <param name="firstByte">The first byte of the fixed header.</param>
    /// <returns>The type.</returns>
    public static MqttPacketKind KindOf(byte firstByte) => (MqttPacketKind)(firstByte >> 4);

    /// <summary>The QoS of a PUBLISH from its first header byte (flags bits 1-2).</summary>
    /// <param name="firstByte">The first byte of the fixed header.</param>
    /// <returns>0, 1 or 2.</returns>
    public static int QosOf(byte firstByte) => (firstByte >> 1) & 0x03;

    /// <summary>Encodes a remaining length, for tests of the reader.</summary>
    /// <param name="value">0 to <see cref="MaximumRemainingLength"/>.</param>
    /// <returns>One to four bytes.</returns>
    public static byte[] EncodeRemainingLength(int value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaximumRemainingLength);
        var bytes = new List<byte>(4);
        do
        {
            var b = (byte)(value % 128);
            value /= 128;
            if (value > 0)
            {
                b |= 0x80;
            }

            bytes.Add(b);
        }
        while (value > 0);
        return [.. bytes];
    }
}
