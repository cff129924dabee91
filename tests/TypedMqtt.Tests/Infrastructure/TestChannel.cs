using System.Buffers;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Channel;

namespace TypedMqtt.Tests.Infrastructure;

/// <summary>
/// A channel without a socket for tests of the wire parts (the writer's batching, the reader's framing): subclasses say
/// what a read returns and what a write does; connecting and disconnecting do nothing.
/// </summary>
internal abstract class TestChannel : IMqttChannel
{
    public X509Certificate2 ClientCertificate => null!;

    public EndPoint RemoteEndPoint => null!;

    public EndPoint LocalEndPoint => null!;

    public bool IsSecureConnection => false;

    public Task ConnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task DisconnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public abstract Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken);

    public abstract Task WriteAsync(ReadOnlySequence<byte> buffer, bool isEndOfPacket, CancellationToken cancellationToken);

    public void Dispose()
    {
    }
}
