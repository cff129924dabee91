using System.Buffers.Binary;
using System.Text;

namespace TypedMqtt;

/// <summary>
/// An <see cref="IMqttOutbox"/> in one append-only file: a record per accepted QoS 1/2 message, one per acknowledgement,
/// one each time a message's flow gets a packet identifier or passes PUBREC, and one per inbound QoS 2 identifier held or
/// released. Every record is written to the operating system before <c>PublishAsync</c> goes on, so a process
/// crash loses nothing; with <c>flushToDisk</c> each record is also forced to the disk (survives power loss, slower).
/// On open, a torn record at the end (a crash mid-write) is cut off and the file is compacted to the pending messages.
/// </summary>
public sealed class MqttFileOutbox : IMqttOutbox
{
    private const byte AddRecord = (byte)'A';
    private const byte AckRecord = (byte)'K';
    private const byte FlowRecord = (byte)'F';
    private const byte InboundRecord = (byte)'I';

    private readonly object _gate = new();
    private readonly FileStream _file;
    private readonly bool _flushToDisk;
    private readonly Dictionary<long, MqttOutboxMessage> _pending = [];
    private readonly HashSet<ushort> _inbound = [];
    private long _nextId = 1;

    /// <summary>Opens (or creates) the outbox file.</summary>
    /// <param name="path">The file, for example <c>/var/lib/myapp/mqtt.outbox</c>.</param>
    /// <param name="flushToDisk">Force every record to the disk, not only to the operating system.</param>
    public MqttFileOutbox(string path, bool flushToDisk = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
        _flushToDisk = flushToDisk;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        if (File.Exists(Path))
        {
            Load(File.ReadAllBytes(Path));
        }

        // Compact: rewrite only what is still pending, then keep appending to it.
        var temporary = Path + ".tmp";
        using (var rewrite = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            WriteState(rewrite);

            rewrite.Flush(flushToDisk: true);
        }

        File.Move(temporary, Path, overwrite: true);

        // Not FileMode.Append: a stream opened that way refuses to truncate what the file held when it was opened.
        _file = new FileStream(Path, FileMode.Open, FileAccess.Write, FileShare.Read);
        _file.Seek(0, SeekOrigin.End);
    }

    /// <summary>The outbox file.</summary>
    public string Path { get; }

    /// <inheritdoc/>
    public long Add(string topic, ReadOnlySpan<byte> payload, MqttQos qos, bool retain)
    {
        lock (_gate)
        {
            var id = _nextId++;
            _pending[id] = new MqttOutboxMessage(id, topic, payload.ToArray(), qos, retain);
            Append(EncodeAdd(id, topic, payload, qos, retain));
            return id;
        }
    }

    /// <inheritdoc/>
    public void Acknowledge(long id)
    {
        lock (_gate)
        {
            if (!_pending.Remove(id))
            {
                return;
            }

            if (_pending.Count == 0)
            {
                // Nothing pending: start the file afresh (with the inbound identifiers still held) instead of letting it grow.
                _file.SetLength(0);
                _file.Position = 0;
                WriteState(_file);
                _file.Flush(_flushToDisk);
                return;
            }

            Span<byte> record = stackalloc byte[9];
            record[0] = AckRecord;
            BinaryPrimitives.WriteInt64LittleEndian(record[1..], id);
            Append(record);
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<MqttOutboxMessage> Pending()
    {
        lock (_gate)
        {
            return [.. _pending.Values.OrderBy(m => m.Id)];
        }
    }

    /// <inheritdoc/>
    public void RecordFlow(long id, ushort packetId, bool released)
    {
        lock (_gate)
        {
            if (!_pending.TryGetValue(id, out var message))
            {
                return;
            }

            _pending[id] = message with { PacketId = packetId, Released = released };
            Append(EncodeFlow(id, packetId, released));
        }
    }

    /// <inheritdoc/>
    public void RecordInbound(ushort packetId, bool held)
    {
        lock (_gate)
        {
            if (held ? _inbound.Add(packetId) : _inbound.Remove(packetId))
            {
                Append(EncodeInbound(packetId, held));
            }
        }
    }

    /// <inheritdoc/>
    public IReadOnlyCollection<ushort> HeldInbound()
    {
        lock (_gate)
        {
            return [.. _inbound];
        }
    }

    /// <summary>Closes the file.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _file.Dispose();
        }
    }

    private void Append(ReadOnlySpan<byte> record)
    {
        _file.Write(record);
        _file.Flush(_flushToDisk);
    }

    /// <summary>Writes the whole current state: each pending message (with its flow) and each held inbound identifier.</summary>
    private void WriteState(Stream stream)
    {
        foreach (var message in _pending.Values.OrderBy(m => m.Id))
        {
            stream.Write(EncodeAdd(message.Id, message.Topic, message.Payload.Span, message.Qos, message.Retain));
            if (message.PacketId != 0)
            {
                stream.Write(EncodeFlow(message.Id, message.PacketId, message.Released));
            }
        }

        foreach (var packetId in _inbound)
        {
            stream.Write(EncodeInbound(packetId, held: true));
        }
    }

    private static byte[] EncodeFlow(long id, ushort packetId, bool released)
    {
        var record = new byte[12];
        record[0] = FlowRecord;
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(1), id);
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(9), packetId);
        record[11] = released ? (byte)1 : (byte)0;
        return record;
    }

    private static byte[] EncodeInbound(ushort packetId, bool held)
    {
        var record = new byte[4];
        record[0] = InboundRecord;
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(1), packetId);
        record[3] = held ? (byte)1 : (byte)0;
        return record;
    }

    private static byte[] EncodeAdd(long id, string topic, ReadOnlySpan<byte> payload, MqttQos qos, bool retain)
    {
        var topicLength = Encoding.UTF8.GetByteCount(topic);
        var record = new byte[1 + 8 + 4 + topicLength + 2 + 4 + payload.Length];
        var span = record.AsSpan();
        span[0] = AddRecord;
        BinaryPrimitives.WriteInt64LittleEndian(span[1..], id);
        BinaryPrimitives.WriteInt32LittleEndian(span[9..], topicLength);
        Encoding.UTF8.GetBytes(topic, span[13..]);
        var at = 13 + topicLength;
        span[at] = (byte)qos;
        span[at + 1] = retain ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteInt32LittleEndian(span[(at + 2)..], payload.Length);
        payload.CopyTo(span[(at + 6)..]);
        return record;
    }

    private void Load(ReadOnlySpan<byte> data)
    {
        var at = 0;
        while (at < data.Length)
        {
            var rest = data[at..];
            if (rest[0] == AckRecord && rest.Length >= 9)
            {
                _pending.Remove(BinaryPrimitives.ReadInt64LittleEndian(rest[1..]));
                at += 9;
                continue;
            }

            if (rest[0] == FlowRecord && rest.Length >= 12)
            {
                var flowId = BinaryPrimitives.ReadInt64LittleEndian(rest[1..]);
                if (_pending.TryGetValue(flowId, out var message))
                {
                    _pending[flowId] = message with { PacketId = BinaryPrimitives.ReadUInt16LittleEndian(rest[9..]), Released = rest[11] == 1 };
                }

                at += 12;
                continue;
            }

            if (rest[0] == InboundRecord && rest.Length >= 4)
            {
                var packetId = BinaryPrimitives.ReadUInt16LittleEndian(rest[1..]);
                if (rest[3] == 1)
                {
                    _inbound.Add(packetId);
                }
                else
                {
                    _inbound.Remove(packetId);
                }

                at += 4;
                continue;
            }

            if (rest[0] != AddRecord || rest.Length < 13)
            {
                break;
            }

            var id = BinaryPrimitives.ReadInt64LittleEndian(rest[1..]);
            var topicLength = BinaryPrimitives.ReadInt32LittleEndian(rest[9..]);
            if (topicLength < 0 || rest.Length < 13 + topicLength + 6)
            {
                break;
            }

            var topic = Encoding.UTF8.GetString(rest.Slice(13, topicLength));
            var qos = (MqttQos)rest[13 + topicLength];
            var retain = rest[14 + topicLength] == 1;
            var payloadLength = BinaryPrimitives.ReadInt32LittleEndian(rest[(15 + topicLength)..]);
            var end = 19 + topicLength + payloadLength;
            if (payloadLength < 0 || rest.Length < end)
            {
                break; // a record torn by a crash mid-write: everything before it is intact
            }

            _pending[id] = new MqttOutboxMessage(id, topic, rest.Slice(19 + topicLength, payloadLength).ToArray(), qos, retain);
            _nextId = Math.Max(_nextId, id + 1);
            at += end;
        }
    }
}
