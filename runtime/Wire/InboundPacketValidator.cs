using System.Buffers;
using System.Text.Unicode;

namespace TypedMqtt.Wire;

/// <summary>
/// Checks every packet the broker sends against the MQTT 3.1.1 / 5.0 rules before MQTTnet decodes it, because MQTTnet
/// is lenient (it decodes invalid UTF-8 as U+FFFD, accepts QoS 3, duplicate properties, packet id 0, topic aliases we
/// never allowed, and allocates whatever a remaining length announces). Fed the raw inbound bytes in order; throws
/// <see cref="MqttProtocolViolation"/> at the first violation, before the offending packet is complete, so MQTTnet never
/// acts on it. A PUBLISH is buffered up to its first 256 KB (its topic and properties are checked); the rest of its
/// payload is counted, not copied.
/// </summary>
internal sealed class InboundPacketValidator(bool version5, long maxPacketBytes, ushort topicAliasMaximum)
{
    private const int MaxBufferedBytes = 256 * 1024;

    // A packet that arrived whole is checked where it lies; only one split over two reads is gathered, in a buffer
    // borrowed from the shared pool while it is checked, so an idle connection holds no buffer here.
    private byte[]? _borrowed;
    private int _stage;
    private byte _header;
    private int _remaining;
    private int _lengthBytes;
    private int _shift;
    private int _wanted;
    private int _filled;
    private int _skip;
    private bool _connAckSeen;

    // Topic aliases the broker has set on this connection (an alias stands for a topic only after a PUBLISH named both).
    private readonly HashSet<ushort> _aliases = [];

    /// <summary>
    /// Where, in the span of the last <see cref="Feed"/>, the packet being checked began; -1 when it began in an earlier
    /// span. After a violation, the bytes before it are whole, valid packets.
    /// </summary>
    public int CurrentPacketStart { get; private set; }

    public void Feed(ReadOnlySpan<byte> data)
    {
        var total = data.Length;
        CurrentPacketStart = _stage == 0 ? 0 : -1;
        while (!data.IsEmpty)
        {
            switch (_stage)
            {
                case 0:
                    CurrentPacketStart = total - data.Length;
                    _header = data[0];
                    try
                    {
                        CheckFixedHeader();
                    }
                    catch (MqttProtocolViolation e) when (!_connAckSeen && e.ReasonCode == 0x81)
                    {
                        // Not even a packet header before CONNACK: what answered does not speak MQTT at all.
                        throw NotMqtt(data);
                    }

                    data = data[1..];
                    _remaining = 0;
                    _lengthBytes = 0;
                    _shift = 0;
                    _stage = 1;
                    break;
                case 1:
                    var b = data[0];
                    data = data[1..];
                    _remaining |= (b & 0x7F) << _shift;
                    _shift += 7;
                    _lengthBytes++;
                    if ((b & 0x80) != 0)
                    {
                        if (_lengthBytes == 4)
                        {
                            throw Malformed("its remaining length uses more than 4 bytes");
                        }

                        break;
                    }

                    if (_lengthBytes > 1 && b == 0)
                    {
                        throw Malformed("its remaining length is not minimally encoded");
                    }

                    StartBody();
                    break;
                case 2:
                    if (_filled == 0 && data.Length >= _wanted)
                    {
                        ValidateBody(data[.._wanted]);
                        data = data[_wanted..];
                        _stage = _skip > 0 ? 3 : 0;
                        break;
                    }

                    _borrowed ??= ArrayPool<byte>.Shared.Rent(_wanted);
                    var take = Math.Min(data.Length, _wanted - _filled);
                    data[..take].CopyTo(_borrowed.AsSpan(_filled));
                    _filled += take;
                    data = data[take..];
                    if (_filled == _wanted)
                    {
                        ValidateBody(_borrowed.AsSpan(0, _filled));
                        ReleaseBuffer();
                        _stage = _skip > 0 ? 3 : 0;
                    }

                    break;
                default:
                    var skipped = Math.Min(data.Length, _skip);
                    _skip -= skipped;
                    data = data[skipped..];
                    if (_skip == 0)
                    {
                        _stage = 0;
                    }

                    break;
            }
        }
    }

    private int Type => _header >> 4;

    private int Flags => _header & 0x0F;

    private void CheckFixedHeader()
    {
        switch (Type)
        {
            case 2 or 4 or 5 or 7 or 9 or 11 or 13 when Flags != 0:
                throw Malformed($"packet type {Type} must have fixed-header flags 0 but has 0x{Flags:X}");
            case 6 when Flags != 2:
                throw Malformed($"PUBREL must have fixed-header flags 0x2 but has 0x{Flags:X}");
            case 14 or 15 when !version5:
                throw Protocol($"a broker may not send packet type {Type} on MQTT 3.1.1");
            case 14 or 15 when Flags != 0:
                throw Malformed($"packet type {Type} must have fixed-header flags 0 but has 0x{Flags:X}");
            case 3:
                var qos = (Flags >> 1) & 3;
                if (qos == 3)
                {
                    throw Malformed("PUBLISH has QoS 3");
                }

                if (qos == 0 && (Flags & 0x8) != 0)
                {
                    throw Malformed("PUBLISH has DUP set with QoS 0");
                }

                if (!_connAckSeen)
                {
                    throw Protocol("PUBLISH arrived before CONNACK");
                }

                break;
            case 2 or 4 or 5 or 6 or 7 or 9 or 11 or 13 or 14 or 15:
                break;
            default:
                throw Malformed($"packet type {Type} is reserved or never sent by a broker");
        }
    }

    private void StartBody()
    {
        var total = 1L + _lengthBytes + _remaining;
        if (total > maxPacketBytes)
        {
            throw new MqttProtocolViolation(0x95, $"The broker sent a packet of {total} bytes, more than this client's maximum packet size of {maxPacketBytes} bytes.");
        }

        if (Type == 3)
        {
            _wanted = Math.Min(_remaining, MaxBufferedBytes);
            _skip = _remaining - _wanted;
        }
        else
        {
            if (_remaining > MaxBufferedBytes)
            {
                throw new MqttProtocolViolation(0x95, $"The broker sent a packet of type {Type} announcing {_remaining} bytes; control packets are never that large.");
            }

            _wanted = _remaining;
            _skip = 0;
        }

        _filled = 0;
        if (_wanted == 0)
        {
            ValidateBody([]);
            _stage = _skip > 0 ? 3 : 0;
        }
        else
        {
            _stage = 2;
        }
    }

    /// <summary>Gives a borrowed buffer back (a violation thrown while checking leaves it to the garbage collector).</summary>
    private void ReleaseBuffer()
    {
        if (_borrowed is { } borrowed)
        {
            _borrowed = null;
            ArrayPool<byte>.Shared.Return(borrowed);
        }
    }

    private void ValidateBody(ReadOnlySpan<byte> body)
    {
        switch (Type)
        {
            case 2:
                ValidateConnAck(body);
                break;
            case 3:
                ValidatePublish(body);
                break;
            case 4 or 5 or 6 or 7:
                ValidateAcknowledgement(body, Type == 6 ? "PUBREL" : Type == 4 ? "PUBACK" : Type == 5 ? "PUBREC" : "PUBCOMP");
                break;
            case 9 or 11:
                ValidateSubAck(body, Type == 9 ? "SUBACK" : "UNSUBACK");
                break;
            case 13:
                if (body.Length != 0)
                {
                    throw Malformed("PINGRESP must have no body");
                }

                break;
            case 14:
                if (body.Length > 1)
                {
                    var reader = new Reader(body[1..], "DISCONNECT");
                    ReadProperties(ref reader, "DISCONNECT", Allowed.Disconnect);
                }

                break;
            case 15:
                ValidateAuth(body);
                break;
        }
    }

    private void ValidateConnAck(ReadOnlySpan<byte> body)
    {
        if (_connAckSeen)
        {
            throw Protocol("a second CONNACK arrived");
        }

        _connAckSeen = true;
        if (body.Length < 2)
        {
            throw Malformed("CONNACK is shorter than 2 bytes");
        }

        if ((body[0] & 0xFE) != 0)
        {
            throw Malformed("CONNACK sets reserved acknowledge-flag bits");
        }

        if (!version5)
        {
            if (body.Length != 2)
            {
                throw Malformed("an MQTT 3.1.1 CONNACK must be exactly 2 bytes");
            }

            if (body[1] > 5)
            {
                throw Malformed($"CONNACK return code {body[1]} is not defined");
            }

            return;
        }

        if (body[1] is not (0x00 or >= 0x80 and <= 0x8A or 0x8C or 0x90 or 0x95 or 0x97 or 0x99 or 0x9A or 0x9B or 0x9C or 0x9D or 0x9F))
        {
            throw Malformed($"CONNACK reason code 0x{body[1]:X2} is not defined");
        }

        var reader = new Reader(body[2..], "CONNACK");
        ReadProperties(ref reader, "CONNACK", Allowed.ConnAck);
    }

    private void ValidatePublish(ReadOnlySpan<byte> prefix)
    {
        var reader = new Reader(prefix, "PUBLISH");
        var topic = reader.String("topic");
        if (topic.IndexOfAny((byte)'+', (byte)'#') >= 0)
        {
            throw Malformed("PUBLISH topic contains a wildcard");
        }

        var qos = (Flags >> 1) & 3;
        if (qos > 0 && reader.UInt16("packet identifier") == 0)
        {
            throw Malformed("PUBLISH with QoS > 0 has packet identifier 0");
        }

        if (version5)
        {
            var alias = ReadProperties(ref reader, "PUBLISH", Allowed.Publish);
            if (topic.IsEmpty && alias == 0)
            {
                throw Protocol("PUBLISH has an empty topic and no topic alias");
            }

            if (alias != 0 && !topic.IsEmpty)
            {
                _aliases.Add(alias);
            }
            else if (alias != 0 && !_aliases.Contains(alias))
            {
                throw Protocol($"PUBLISH uses topic alias {alias}, which the broker never set on this connection");
            }
        }
        else if (topic.IsEmpty)
        {
            throw Malformed("PUBLISH has an empty topic");
        }
    }

    private void ValidateAcknowledgement(ReadOnlySpan<byte> body, string name)
    {
        var reader = new Reader(body, name);
        if (reader.UInt16("packet identifier") == 0)
        {
            throw Malformed(name + " has packet identifier 0");
        }

        if (!version5)
        {
            if (body.Length != 2)
            {
                throw Malformed($"an MQTT 3.1.1 {name} must be exactly 2 bytes");
            }

            return;
        }

        if (reader.Remaining > 0)
        {
            reader.Byte("reason code");
            if (reader.Remaining > 0)
            {
                ReadProperties(ref reader, name, Allowed.Acknowledgement);
            }
        }
    }

    private void ValidateSubAck(ReadOnlySpan<byte> body, string name)
    {
        var reader = new Reader(body, name);
        if (reader.UInt16("packet identifier") == 0)
        {
            throw Malformed(name + " has packet identifier 0");
        }

        if (version5)
        {
            ReadProperties(ref reader, name, Allowed.Acknowledgement);
        }

        if (reader.Remaining == 0 && (Type == 9 || version5))
        {
            throw Malformed(name + " has no reason codes");
        }
    }

    private void ValidateAuth(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty)
        {
            return;
        }

        var reader = new Reader(body, "AUTH");
        reader.Byte("reason code");
        ReadProperties(ref reader, "AUTH", Allowed.Auth, out var seen);
        if (!Has(seen, 0x15))
        {
            throw Protocol("AUTH carries no authentication method");
        }
    }

    /// <summary>Notes a property identifier as seen; false when it was seen before. Identifiers of 64 and above are not MQTT 5 properties (IsAllowed refuses them).</summary>
    private static bool Add(ref ulong seen, byte id)
    {
        if (id >= 64)
        {
            return true;
        }

        var bit = 1UL << id;
        if ((seen & bit) != 0)
        {
            return false;
        }

        seen |= bit;
        return true;
    }

    private static bool Has(ulong seen, byte id) => id < 64 && (seen & (1UL << id)) != 0;

    private enum Allowed
    {
        ConnAck,
        Publish,
        Acknowledgement,
        Disconnect,
        Auth,
    }

    /// <summary>Reads a property block; returns the topic alias it held, or 0.</summary>
    private ushort ReadProperties(ref Reader reader, string packet, Allowed allowed) => ReadProperties(ref reader, packet, allowed, out _);

    /// <summary>Reads a property block; returns the topic alias it held, or 0, and which property identifiers it held (a bit per identifier below 64).</summary>
    private ushort ReadProperties(ref Reader reader, string packet, Allowed allowed, out ulong seen)
    {
        var length = reader.VariableInteger("property length");
        var properties = new Reader(reader.Bytes(length, "properties"), packet);
        seen = 0;
        ushort alias = 0;
        while (properties.Remaining > 0)
        {
            var id = properties.Byte("property identifier");
            if (id is not (0x26 or 0x0B) && !Add(ref seen, id))
            {
                throw Protocol($"{packet} contains property 0x{id:X2} more than once");
            }

            if (!IsAllowed(id, allowed))
            {
                throw Protocol($"{packet} contains property 0x{id:X2}, which that packet may not carry");
            }

            switch (id)
            {
                case 0x01 or 0x24 or 0x25 or 0x28 or 0x29 or 0x2A:
                    if (properties.Byte("property") > 1)
                    {
                        throw Protocol($"{packet} property 0x{id:X2} must be 0 or 1");
                    }

                    break;
                case 0x02 or 0x11:
                    properties.Bytes(4, "property");
                    break;
                case 0x27:
                    if (properties.UInt32("maximum packet size") == 0)
                    {
                        throw Protocol("CONNACK maximum packet size is 0");
                    }

                    break;
                case 0x13 or 0x22:
                    properties.UInt16("property");
                    break;
                case 0x21:
                    if (properties.UInt16("receive maximum") == 0)
                    {
                        throw Protocol("CONNACK receive maximum is 0");
                    }

                    break;
                case 0x23:
                    var value = properties.UInt16("topic alias");
                    if (value == 0 || value > topicAliasMaximum)
                    {
                        throw Protocol(value == 0
                            ? "PUBLISH uses topic alias 0"
                            : $"PUBLISH uses topic alias {value}, above this client's topic alias maximum of {topicAliasMaximum}");
                    }

                    alias = value;
                    break;
                case 0x0B:
                    if (properties.VariableInteger("subscription identifier") == 0)
                    {
                        throw Protocol("PUBLISH has subscription identifier 0");
                    }

                    break;
                case 0x08:
                    if (properties.String("response topic").IndexOfAny((byte)'+', (byte)'#') >= 0)
                    {
                        throw Protocol("PUBLISH response topic contains a wildcard");
                    }

                    break;
                case 0x03 or 0x12 or 0x15 or 0x1A or 0x1C or 0x1F:
                    properties.String("property");
                    break;
                case 0x09 or 0x16:
                    properties.Bytes(properties.UInt16("property length"), "property");
                    break;
                case 0x26:
                    properties.String("user property name");
                    properties.String("user property value");
                    break;
            }
        }

        return alias;
    }

    private static bool IsAllowed(byte id, Allowed packet) => packet switch
    {
        Allowed.ConnAck => id is 0x11 or 0x12 or 0x13 or 0x15 or 0x16 or 0x1A or 0x1C or 0x1F or 0x21 or 0x22 or 0x24 or 0x25 or 0x26 or 0x27 or 0x28 or 0x29 or 0x2A,
        Allowed.Publish => id is 0x01 or 0x02 or 0x03 or 0x08 or 0x09 or 0x0B or 0x23 or 0x26,
        Allowed.Acknowledgement => id is 0x1F or 0x26,
        Allowed.Disconnect => id is 0x1C or 0x1F or 0x26,
        _ => id is 0x15 or 0x16 or 0x1F or 0x26,
    };

    /// <summary>
    /// The server's first byte is no MQTT packet header: whatever it is (an HTTP server, a database, TLS on a plain
    /// port), it does not speak MQTT there. The message quotes what it sent, as text when it is text.
    /// </summary>
    private static MqttProtocolViolation NotMqtt(ReadOnlySpan<byte> first)
    {
        var sample = first[..Math.Min(first.Length, 32)];
        var text = true;
        foreach (var b in sample)
        {
            text &= b is >= 0x20 and < 0x7F or (byte)'\r' or (byte)'\n' or (byte)'\t';
        }

        var quoted = text
            ? "\"" + System.Text.Encoding.ASCII.GetString(sample).Split('\r', '\n')[0] + "\""
            : "bytes " + Convert.ToHexString(sample[..Math.Min(sample.Length, 8)]);
        return new MqttProtocolViolation(0x82,
            $"The server does not speak MQTT: it answered CONNECT with {quoted} instead of an MQTT packet. Check the address and port: " +
            "MQTT brokers listen on 1883, and 8883 with TLS (mqtts://); a WebSocket endpoint needs ws:// or wss://.");
    }

    private MqttProtocolViolation Malformed(string what) => new(0x81, $"The broker sent a malformed packet: {what}.");

    private MqttProtocolViolation Protocol(string what) => new(0x82, $"The broker broke the protocol: {what}.");

    /// <summary>A bounds-checked reader over one packet body.</summary>
    /// <summary>Reads a packet's fields; <c>what</c> names a field only for the error message, which is built only on error.</summary>
    private ref struct Reader(ReadOnlySpan<byte> data, string packet)
    {
        private readonly string _packet = packet;
        private ReadOnlySpan<byte> _data = data;

        public readonly int Remaining => _data.Length;

        public byte Byte(string what) => Bytes(1, what)[0];

        public ushort UInt16(string what)
        {
            var bytes = Bytes(2, what);
            return (ushort)((bytes[0] << 8) | bytes[1]);
        }

        public uint UInt32(string what)
        {
            var bytes = Bytes(4, what);
            return ((uint)bytes[0] << 24) | ((uint)bytes[1] << 16) | ((uint)bytes[2] << 8) | bytes[3];
        }

        public int VariableInteger(string what)
        {
            var value = 0;
            for (var i = 0; i < 4; i++)
            {
                var b = Byte(what);
                value |= (b & 0x7F) << (7 * i);
                if ((b & 0x80) == 0)
                {
                    if (i > 0 && b == 0)
                    {
                        throw new MqttProtocolViolation(0x81, $"The broker sent a malformed packet: {_packet} {what} is not minimally encoded.");
                    }

                    return value;
                }
            }

            throw new MqttProtocolViolation(0x81, $"The broker sent a malformed packet: {_packet} {what} uses more than 4 bytes.");
        }

        /// <summary>A UTF-8 string: valid UTF-8 (no encoded surrogates), no U+0000.</summary>
        public ReadOnlySpan<byte> String(string what)
        {
            var text = Bytes(UInt16(what), what);
            if (!Utf8.IsValid(text))
            {
                throw new MqttProtocolViolation(0x81, $"The broker sent a malformed packet: {_packet} {what} is not valid UTF-8.");
            }

            if (text.IndexOf((byte)0) >= 0)
            {
                throw new MqttProtocolViolation(0x81, $"The broker sent a malformed packet: {_packet} {what} contains U+0000.");
            }

            return text;
        }

        public ReadOnlySpan<byte> Bytes(int count, string what)
        {
            if (count < 0 || count > _data.Length)
            {
                throw new MqttProtocolViolation(0x81, $"The broker sent a malformed packet: {_packet} {what} runs past the end of the packet.");
            }

            var bytes = _data[..count];
            _data = _data[count..];
            return bytes;
        }
    }
}

/// <summary>A packet from the broker broke the MQTT rules; the connection is closed with this reason.</summary>
internal sealed class MqttProtocolViolation(int reasonCode, string message) : IOException(message)
{
    /// <summary>0x81 malformed packet, 0x82 protocol error, 0x95 packet too large.</summary>
    public int ReasonCode { get; } = reasonCode;
}
