using System.Buffers;
using TypedMqtt.Dispatch;

namespace TypedMqtt.Tests.Infrastructure;

/// <summary>A sink that takes every message and does nothing with it, for tests of the registry alone.</summary>
internal sealed class NullSink(string filter) : MessageSink(filter)
{
    public override bool NeedsContext => false;

    public override ValueTask DeliverAsync(string topic, ReadOnlySequence<byte> payload, MqttMessageContext? context) => ValueTask.CompletedTask;

    public override ValueTask StopAsync() => ValueTask.CompletedTask;
}
