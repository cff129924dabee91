using System.Buffers.Binary;
using System.Text;

namespace TypedMqtt;

/// <summary>
/// An <see cref="IMqttOutbox"/> in one append-only file: a record per accepted QoS 1/2 message and one per
/// acknowledgement. Every record is written to the operating system before <c>PublishAsync</c> goes on, so a process
/// crash loses nothing; with <c>flushToDisk</c> each record is also forced to the disk (survives power loss, slower).
/// On open, a torn record at the end (a crash mid-write) is cut off and the file is compacted to the pending messages.
/// </summary>
public sealed class MqttFileOutbox : IMqttOutbox
{
    private const byte AddRecord = (byte)'A';
    private const byte AckRecord = (byte)'K';

    private readonly object _gate = new();
    private readonly FileStream _file;
    private readonly bool _flushToDisk;
    private readonly Dictionary<long, MqttOutboxMessage> _pending = [];
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
            foreach (var message in _pending.Values.OrderBy(m => m.Id))
            {
                rewrite.Write(EncodeAdd(message.Id, message.Topic, message.Payload.Span, message.Qos, message.Retain));
            }

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
                // Nothing pending: start the file afresh instead of letting it grow.
                _file.SetLength(0);
                _file.Position = 0;
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
