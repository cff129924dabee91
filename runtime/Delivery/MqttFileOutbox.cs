using System.Buffers.Binary;
using TypedMqtt.Delivery;

namespace TypedMqtt;

/// <summary>
/// An <see cref="IMqttOutbox"/> in one append-only file: a record per accepted QoS 1/2 message (with its MQTT 5
/// properties and when it was accepted, so its message expiry still counts after a restart), one per acknowledgement,
/// one each time a message's flow gets a packet identifier or passes PUBREC, and one per inbound QoS 2 identifier held or
/// released. Every record is written to the operating system before <c>PublishAsync</c> goes on, so a process
/// crash loses nothing; with <c>flushToDisk</c> each record is also forced to the disk (survives power loss, slower).
/// On open, a torn record at the end (a crash mid-write) is cut off and the file is compacted to the pending messages.
/// </summary>
public sealed class MqttFileOutbox : IMqttOutbox
{
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
    public long Add(string topic, ReadOnlySpan<byte> payload, MqttQos qos, bool retain, MqttMessageProperties? properties = null)
    {
        lock (_gate)
        {
            var id = _nextId++;
            var message = new MqttOutboxMessage(id, topic, payload.ToArray(), qos, retain)
            {
                Properties = properties is null || properties.IsEmpty ? null : properties,
                AcceptedAt = DateTimeOffset.UtcNow,
            };
            _pending[id] = message;
            Append(OutboxRecords.EncodeMessage(message));
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

            Append(OutboxRecords.EncodeAcknowledgement(id));
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
            Append(OutboxRecords.EncodeFlow(id, packetId, released));
        }
    }

    /// <inheritdoc/>
    public void RecordInbound(ushort packetId, bool held)
    {
        lock (_gate)
        {
            if (held ? _inbound.Add(packetId) : _inbound.Remove(packetId))
            {
                Append(OutboxRecords.EncodeInbound(packetId, held));
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
            stream.Write(OutboxRecords.EncodeMessage(message));
            if (message.PacketId != 0)
            {
                stream.Write(OutboxRecords.EncodeFlow(message.Id, message.PacketId, message.Released));
            }
        }

        foreach (var packetId in _inbound)
        {
            stream.Write(OutboxRecords.EncodeInbound(packetId, held: true));
        }
    }

    private void Load(ReadOnlySpan<byte> data)
    {
        var at = 0;
        while (at < data.Length)
        {
            var rest = data[at..];
            if (rest[0] == OutboxRecords.Acknowledgement && rest.Length >= 9)
            {
                _pending.Remove(BinaryPrimitives.ReadInt64LittleEndian(rest[1..]));
                at += 9;
                continue;
            }

            if (rest[0] == OutboxRecords.Flow && rest.Length >= 12)
            {
                var flowId = BinaryPrimitives.ReadInt64LittleEndian(rest[1..]);
                if (_pending.TryGetValue(flowId, out var message))
                {
                    _pending[flowId] = message with { PacketId = BinaryPrimitives.ReadUInt16LittleEndian(rest[9..]), Released = rest[11] == 1 };
                }

                at += 12;
                continue;
            }

            if (rest[0] == OutboxRecords.Inbound && rest.Length >= 4)
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

            MqttOutboxMessage? added = null;
            var length = 0;
            var complete = rest[0] switch
            {
                OutboxRecords.Message => OutboxRecords.TryReadMessage(rest, out added, out length),
                OutboxRecords.LegacyMessage => OutboxRecords.TryReadLegacyMessage(rest, out added, out length),
                _ => false,
            };
            if (!complete || added is null)
            {
                break; // an unknown record, or one torn by a crash mid-write: everything before it is intact
            }

            _pending[added.Id] = added;
            _nextId = Math.Max(_nextId, added.Id + 1);
            at += length;
        }
    }
}
