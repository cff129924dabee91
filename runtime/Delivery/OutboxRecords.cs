using System.Buffers.Binary;
using System.Text;

namespace TypedMqtt.Delivery;

/// <summary>
/// The records of <see cref="MqttFileOutbox"/>'s file, each a type byte and little-endian fields. A message record holds
/// everything needed to send the message again after a crash: topic, QoS, retain, payload, when it was accepted (for its
/// message expiry) and its MQTT 5 properties. A reader stops at a record cut short by a crash mid-write.
/// </summary>
internal static class OutboxRecords
{
    /// <summary>A message without properties or acceptance time (files written before properties were kept).</summary>
    public const byte LegacyMessage = (byte)'A';

    /// <summary>A message: id, accepted at (Unix ms), topic, QoS, retain, payload, properties.</summary>
    public const byte Message = (byte)'M';

    public const byte Acknowledgement = (byte)'K';

    public const byte Flow = (byte)'F';

    public const byte Inbound = (byte)'I';

    private const byte ExpiryTag = 1;
    private const byte FormatTag = 2;
    private const byte ContentTypeTag = 3;
    private const byte ResponseTopicTag = 4;
    private const byte CorrelationTag = 5;
    private const byte UserPropertyTag = 6;

    public static byte[] EncodeMessage(MqttOutboxMessage message)
    {
        var writer = new Writer();
        writer.Byte(Message);
        writer.Int64(message.Id);
        writer.Int64(message.AcceptedAt.ToUnixTimeMilliseconds());
        writer.Text(message.Topic);
        writer.Byte((byte)message.Qos);
        writer.Byte(message.Retain ? (byte)1 : (byte)0);
        writer.Bytes(message.Payload.Span);
        var properties = new Writer();
        if (message.Properties is { } p)
        {
            if (p.MessageExpiryInterval is { } expiry)
            {
                properties.Byte(ExpiryTag);
                properties.Int64(expiry);
            }

            if (p.PayloadFormat is { } format)
            {
                properties.Byte(FormatTag);
                properties.Byte((byte)format);
            }

            if (p.ContentType is { } contentType)
            {
                properties.Byte(ContentTypeTag);
                properties.Text(contentType);
            }

            if (p.ResponseTopic is { } responseTopic)
            {
                properties.Byte(ResponseTopicTag);
                properties.Text(responseTopic);
            }

            if (!p.CorrelationData.IsEmpty)
            {
                properties.Byte(CorrelationTag);
                properties.Bytes(p.CorrelationData.Span);
            }

            foreach (var property in p.UserProperties)
            {
                properties.Byte(UserPropertyTag);
                properties.Text(property.Name);
                properties.Text(property.Value);
            }
        }

        writer.Bytes(properties.ToArray());
        return writer.ToArray();
    }

    /// <summary>Reads a message record at the start of <paramref name="data"/>; false when it is cut short.</summary>
    public static bool TryReadMessage(ReadOnlySpan<byte> data, out MqttOutboxMessage message, out int length)
    {
        message = null!;
        length = 0;
        var reader = new Reader(data[1..]);
        if (!reader.Int64(out var id) || !reader.Int64(out var acceptedAt) || !reader.Text(out var topic) || !reader.Byte(out var qos)
            || !reader.Byte(out var retain) || !reader.Bytes(out var payload) || !reader.Bytes(out var block))
        {
            return false;
        }

        message = new MqttOutboxMessage(id, topic, payload.ToArray(), (MqttQos)qos, retain == 1)
        {
            AcceptedAt = DateTimeOffset.FromUnixTimeMilliseconds(acceptedAt),
            Properties = block.IsEmpty ? null : ReadProperties(block),
        };
        length = 1 + reader.Position;
        return true;
    }

    /// <summary>Reads a record written before properties were kept; false when it is cut short.</summary>
    public static bool TryReadLegacyMessage(ReadOnlySpan<byte> data, out MqttOutboxMessage message, out int length)
    {
        message = null!;
        length = 0;
        var reader = new Reader(data[1..]);
        if (!reader.Int64(out var id) || !reader.Text(out var topic) || !reader.Byte(out var qos) || !reader.Byte(out var retain) || !reader.Bytes(out var payload))
        {
            return false;
        }

        message = new MqttOutboxMessage(id, topic, payload.ToArray(), (MqttQos)qos, retain == 1);
        length = 1 + reader.Position;
        return true;
    }

    private static MqttMessageProperties? ReadProperties(ReadOnlySpan<byte> block)
    {
        var reader = new Reader(block);
        var properties = new MqttMessageProperties();
        var users = new List<MqttUserProperty>();
        while (reader.Byte(out var tag))
        {
            switch (tag)
            {
                case ExpiryTag when reader.Int64(out var expiry):
                    properties = properties with { MessageExpiryInterval = (uint)expiry };
                    break;
                case FormatTag when reader.Byte(out var format):
                    properties = properties with { PayloadFormat = (MqttPayloadFormat)format };
                    break;
                case ContentTypeTag when reader.Text(out var contentType):
                    properties = properties with { ContentType = contentType };
                    break;
                case ResponseTopicTag when reader.Text(out var responseTopic):
                    properties = properties with { ResponseTopic = responseTopic };
                    break;
                case CorrelationTag when reader.Bytes(out var correlation):
                    properties = properties with { CorrelationData = correlation.ToArray() };
                    break;
                case UserPropertyTag when reader.Text(out var name) && reader.Text(out var value):
                    users.Add(new MqttUserProperty(name, value));
                    break;
                default:
                    throw new InvalidDataException($"The outbox file holds a message property this version does not know (tag {tag}): a newer TypedMqtt wrote it. Open the file with that version to send what it holds, or move it aside to start with an empty outbox.");
            }
        }

        return properties with { UserProperties = users };
    }

    public static byte[] EncodeAcknowledgement(long id)
    {
        var record = new byte[9];
        record[0] = Acknowledgement;
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(1), id);
        return record;
    }

    public static byte[] EncodeFlow(long id, ushort packetId, bool released)
    {
        var record = new byte[12];
        record[0] = Flow;
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(1), id);
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(9), packetId);
        record[11] = released ? (byte)1 : (byte)0;
        return record;
    }

    public static byte[] EncodeInbound(ushort packetId, bool held)
    {
        var record = new byte[4];
        record[0] = Inbound;
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(1), packetId);
        record[3] = held ? (byte)1 : (byte)0;
        return record;
    }

    private sealed class Writer
    {
        private readonly MemoryStream _stream = new();

        public void Byte(byte value) => _stream.WriteByte(value);

        public void Int64(long value)
        {
            Span<byte> bytes = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
            _stream.Write(bytes);
        }

        public void Bytes(ReadOnlySpan<byte> value)
        {
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(length, value.Length);
            _stream.Write(length);
            _stream.Write(value);
        }

        public void Text(string value) => Bytes(Encoding.UTF8.GetBytes(value));

        public byte[] ToArray() => _stream.ToArray();
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;

        public int Position { get; private set; }

        public bool Byte(out byte value)
        {
            value = 0;
            if (Position >= _data.Length)
            {
                return false;
            }

            value = _data[Position++];
            return true;
        }

        public bool Int64(out long value)
        {
            value = 0;
            if (Position + 8 > _data.Length)
            {
                return false;
            }

            value = BinaryPrimitives.ReadInt64LittleEndian(_data[Position..]);
            Position += 8;
            return true;
        }

        public bool Bytes(out ReadOnlySpan<byte> value)
        {
            value = default;
            if (Position + 4 > _data.Length)
            {
                return false;
            }

            var length = BinaryPrimitives.ReadInt32LittleEndian(_data[Position..]);
            if (length < 0 || Position + 4 + length > _data.Length)
            {
                return false;
            }

            value = _data.Slice(Position + 4, length);
            Position += 4 + length;
            return true;
        }

        public bool Text(out string value)
        {
            value = string.Empty;
            if (!Bytes(out var bytes))
            {
                return false;
            }

            value = Encoding.UTF8.GetString(bytes);
            return true;
        }
    }
}
