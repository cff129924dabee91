using System.Text;
using System.Threading.Channels;

namespace TypedMqtt.Tests.Infrastructure;

/// <summary>One message as it arrived in a subscription handler.</summary>
public sealed record ReceivedMessage(string Topic, byte[] Payload, MqttMessageContext Context)
{
    public string Text => Encoding.UTF8.GetString(Payload);
}

/// <summary>Subscribes to a filter and queues what arrives, so tests await messages instead of sleeping.</summary>
public sealed class MessageProbe : IAsyncDisposable
{
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(10);

    private readonly Channel<ReceivedMessage> _messages = Channel.CreateUnbounded<ReceivedMessage>();
    private MqttSubscription? _subscription;

    private MessageProbe()
    {
    }

    public static async Task<MessageProbe> SubscribeAsync(MqttConnection connection, string filter, MqttQos qos = MqttQos.AtLeastOnce, MqttSubscriptionOptions? options = null)
    {
        var probe = new MessageProbe();
        probe._subscription = await connection.SubscribeAsync(
            filter,
            (payload, context, _) =>
            {
                probe._messages.Writer.TryWrite(new ReceivedMessage(context.Topic, payload.ToArray(), context));
                return Task.CompletedTask;
            },
            (options ?? MqttSubscriptionOptions.Default) with { Qos = qos });
        return probe;
    }

    /// <summary>The next message, or a <see cref="TimeoutException"/> naming what was awaited.</summary>
    public async Task<ReceivedMessage> NextAsync(TimeSpan? timeout = null)
    {
        var wait = timeout ?? DefaultWait;
        using var cancel = new CancellationTokenSource(wait);
        try
        {
            return await _messages.Reader.ReadAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No message on '{_subscription?.Filter}' within {wait.TotalSeconds} s.");
        }
    }

    /// <summary>Fails if a message arrives within <paramref name="window"/>.</summary>
    public async Task AssertNothingAsync(TimeSpan window)
    {
        using var cancel = new CancellationTokenSource(window);
        try
        {
            var message = await _messages.Reader.ReadAsync(cancel.Token);
            Assert.Fail($"Expected no message, but '{message.Text}' arrived on '{message.Topic}'.");
        }
        catch (OperationCanceledException)
        {
            // Nothing arrived: as expected.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_subscription is not null)
        {
            await _subscription.DisposeAsync();
        }
    }
}
