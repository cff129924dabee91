using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;

namespace TypedMqtt.Tests.Dispatch;

[JsonSerializable(typeof(JsonElement))]
internal sealed partial class DepthJson : JsonSerializerContext;

/// <summary>A subscription to any JSON document, so only the depth limit can make decoding fail.</summary>
[MqttContract(JsonContext = typeof(DepthJson))]
public partial interface IAnyJson
{
    [Subscribe("limits/json/{id}")]
    Task<IAsyncDisposable> OnDocumentAsync(Func<int, JsonElement, Task> handler, CancellationToken cancellationToken = default);
}

/// <summary>
/// Every inbound limit at its exact boundary: at the limit the message is delivered, one byte (or one level) over goes
/// to MessageFailed with the limit named, never to the handler. Each test goes red when its limit is not applied (the
/// message over the limit would reach the handler).
/// </summary>
public sealed class PayloadLimitTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static async Task<(List<int> Delivered, List<MqttMessageErrorEventArgs> Failed)> SendRawAsync(
        MqttConnection connection, int[] sizes, MqttSubscriptionOptions? options = null)
    {
        var prefix = "limits/" + Guid.NewGuid().ToString("N")[..8];
        var delivered = Channel.CreateUnbounded<int>();
        var failed = Channel.CreateUnbounded<MqttMessageErrorEventArgs>();
        connection.MessageFailed += (_, e) => failed.Writer.TryWrite(e);
        await using var subscription = await connection.SubscribeAsync($"{prefix}/#", (payload, _, _) => delivered.Writer.WriteAsync(payload.Length).AsTask(), options);
        foreach (var size in sizes)
        {
            await connection.PublishAsync($"{prefix}/{size}", new byte[size], MqttQos.AtLeastOnce);
        }

        // A last small message: once it is in, everything before it was either delivered or reported.
        await connection.PublishAsync($"{prefix}/end", "e"u8.ToArray(), MqttQos.AtLeastOnce);
        var sizesDelivered = new List<int>();
        while (true)
        {
            var size = await delivered.Reader.ReadAsync().AsTask().WaitAsync(Wait);
            if (size == 1)
            {
                break;
            }

            sizesDelivered.Add(size);
        }

        var failures = new List<MqttMessageErrorEventArgs>();
        while (failed.Reader.TryRead(out var failure))
        {
            failures.Add(failure);
        }

        return (sizesDelivered, failures);
    }

    [Fact]
    public async Task The_default_connection_limit_of_1_MiB_delivers_1_MiB_and_refuses_one_byte_more()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var connection = await MqttConnection.ConnectAsync(broker.Address);
        Assert.Equal(1024 * 1024, connection.Options.MaxInboundPayloadBytes);

        var (delivered, failed) = await SendRawAsync(connection, [1024 * 1024, (1024 * 1024) + 1]);

        Assert.Equal([1024 * 1024], delivered);
        var failure = Assert.Single(failed);
        Assert.Equal(MqttMessageErrorStage.Decode, failure.Stage);
        Assert.EndsWith("/1048577", failure.Topic, StringComparison.Ordinal);
        Assert.Contains("more than the limit of 1048576", failure.Exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_connection_wide_limit_delivers_at_the_limit_and_refuses_one_byte_more()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var connection = await MqttConnection.ConnectAsync(broker.Address, o => o.Configure(x => x with { MaxInboundPayloadBytes = 1000 }));

        var (delivered, failed) = await SendRawAsync(connection, [999, 1000, 1001]);

        Assert.Equal([999, 1000], delivered);
        var failure = Assert.Single(failed);
        Assert.EndsWith("/1001", failure.Topic, StringComparison.Ordinal);
        Assert.Contains("more than the limit of 1000", failure.Exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_subscription_limit_delivers_at_the_limit_and_refuses_one_byte_more_over_the_connection_limit()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var connection = await MqttConnection.ConnectAsync(broker.Address, o => o.Configure(x => x with { MaxInboundPayloadBytes = 1000 }));

        var (delivered, failed) = await SendRawAsync(connection, [16, 17], MqttSubscriptionOptions.Default with { MaxPayloadBytes = 16 });

        Assert.Equal([16], delivered);
        var failure = Assert.Single(failed);
        Assert.EndsWith("/17", failure.Topic, StringComparison.Ordinal);
        Assert.Contains("more than the limit of 16", failure.Exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JSON_nested_64_levels_is_delivered_and_65_levels_are_refused_by_the_depth_limit()
    {
        await using var broker = await EmbeddedMqttBroker.StartAsync();
        await using var client = await AnyJsonClient.ConnectAsync(broker.Address);
        var failed = Channel.CreateUnbounded<MqttMessageErrorEventArgs>();
        client.Connection.MessageFailed += (_, e) => failed.Writer.TryWrite(e);
        var delivered = Channel.CreateUnbounded<int>();
        await using var subscription = await client.OnDocumentAsync((id, _) => delivered.Writer.WriteAsync(id).AsTask());

        static byte[] Nested(int depth) => Encoding.UTF8.GetBytes(new string('[', depth) + new string(']', depth));
        await client.Connection.PublishAsync("limits/json/64", Nested(64), MqttQos.AtLeastOnce);
        await client.Connection.PublishAsync("limits/json/65", Nested(65), MqttQos.AtLeastOnce);
        await client.Connection.PublishAsync("limits/json/1", Nested(1), MqttQos.AtLeastOnce);

        Assert.Equal(64, await delivered.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.Equal(1, await delivered.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        var failure = await failed.Reader.ReadAsync().AsTask().WaitAsync(Wait);
        Assert.Equal(("limits/json/65", MqttMessageErrorStage.Decode), (failure.Topic, failure.Stage));
        Assert.Contains("depth of 64", failure.Exception.Message, StringComparison.Ordinal);
        Assert.False(failed.Reader.TryRead(out _));
    }
}
