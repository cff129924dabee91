using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Examples;

/// <summary>The README's main job and the fleet example, on the embedded broker (no arguments).</summary>
public sealed class ExampleTests
{
    [Fact]
    public async Task Quickstart_on_the_embedded_broker_shows_every_step_and_exits_0()
    {
        var (exitCode, output) = await ExampleRunner.RunAsync("Quickstart");

        Assert.True(exitCode == 0, output);
        Assert.Contains("<- kitchen: 21.5 °C (QoS 1, content type application/json)", output, StringComparison.Ordinal);
        Assert.Contains("late subscriber got garage: 4 °C (retained: True)", output, StringComparison.Ordinal);
        Assert.Contains("user properties [sender=quickstart, priority=high], correlation request-42", output, StringComparison.Ordinal);
        Assert.Contains("reason \"connection lost\"", output, StringComparison.Ordinal);
        Assert.Contains("<- reply: kitchen set to 22.5 °C", output, StringComparison.Ordinal);
        Assert.Contains("<- error reply: 80 °C is outside 5-30 °C", output, StringComparison.Ordinal);
        Assert.Contains("all 5 steps observed", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Worker_runs_on_the_embedded_broker_and_stops_cleanly_on_Ctrl_C()
    {
        // Interrupted once a reading went through the injected client, the broker and a scoped handler.
        var (exitCode, output) = await ExampleRunner.RunUntilInterruptedAsync("Worker", "Line paint:");

        Assert.True(exitCode == 0, output);
        Assert.Contains("Health: Healthy (MQTT: connected to mqtt://127.0.0.1:", output, StringComparison.Ordinal);
        Assert.Contains("Line press: ", output, StringComparison.Ordinal);
        Assert.Contains("Application is shutting down...", output, StringComparison.Ordinal);
        Assert.Contains("Connected -> Closed: the application disconnected", output, StringComparison.Ordinal);
        Assert.DoesNotContain("fail:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Quickstart_rejects_unknown_arguments()
    {
        var (exitCode, output) = await ExampleRunner.RunAsync("Quickstart", "--brokr");

        Assert.Equal(2, exitCode);
        Assert.Contains("usage:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeviceFleet_on_the_embedded_broker_delivers_a_queued_command_and_a_will()
    {
        var (exitCode, output) = await ExampleRunner.RunAsync("DeviceFleet");

        Assert.True(exitCode == 0, output);
        Assert.Contains("got calibrate(zero) (session present: True)", output, StringComparison.Ordinal);
        Assert.Contains("is offline (connection lost)", output, StringComparison.Ordinal);
        Assert.Contains("fleet run complete", output, StringComparison.Ordinal);
    }
}

/// <summary>The same examples with --broker against Mosquitto.</summary>
[Collection(MosquittoCollection.Name)]
public sealed class MosquittoExampleTests(MosquittoFixture mosquitto)
{
    [MosquittoFact]
    public async Task Quickstart_with_broker_argument_runs_against_Mosquitto()
    {
        var (exitCode, output) = await ExampleRunner.RunAsync("Quickstart", "--broker", mosquitto.Broker.TcpAddress);

        Assert.True(exitCode == 0, output + mosquitto.Broker.Log);
        Assert.Contains($"broker: {mosquitto.Broker.TcpAddress}", output, StringComparison.Ordinal);
        Assert.Contains("<- reply: kitchen set to 22.5 °C", output, StringComparison.Ordinal);
        Assert.Contains("all 5 steps observed", output, StringComparison.Ordinal);
    }

    /// <summary>MQTT 3.1 and 3.1.1 have no message properties: the contract's declared expiry and user property are left out, and the steps that need MQTT 5 say so.</summary>
    [MosquittoTheory]
    [InlineData("3.1.1", "MQTT 3.1.1")]
    [InlineData("3.1", "MQTT 3.1")]
    public async Task Quickstart_runs_on_older_protocol_versions_against_Mosquitto(string version, string name)
    {
        var address = $"{mosquitto.Broker.TcpAddress}?version={version}";
        var (exitCode, output) = await ExampleRunner.RunAsync("Quickstart", "--broker", address);

        Assert.True(exitCode == 0, output + mosquitto.Broker.Log);
        Assert.Contains($"({name})", output, StringComparison.Ordinal);
        Assert.Contains("<- kitchen: 21.5 °C", output, StringComparison.Ordinal);
        Assert.Contains($"3. a command, without properties ({name} has no message properties)", output, StringComparison.Ordinal);
        Assert.Contains("<- hall/lights(on)", output, StringComparison.Ordinal);
        Assert.Contains("reason \"connection lost\"", output, StringComparison.Ordinal);
        Assert.Contains($"skipped on {name}", output, StringComparison.Ordinal);
        Assert.Contains("all 4 steps observed", output, StringComparison.Ordinal);
    }

    [MosquittoFact]
    public async Task Quickstart_leaves_no_retained_message_behind_on_Mosquitto()
    {
        await using var broker = await MosquittoBroker.StartAsync(new MosquittoSetup { PlainOnly = true });
        var (exitCode, output) = await ExampleRunner.RunAsync("Quickstart", "--broker", broker.TcpAddress);
        Assert.True(exitCode == 0, output);

        // A new subscriber to everything gets every retained message at once; there must be none.
        await using var probe = await MqttConnection.ConnectAsync(broker.TcpAddress);
        var retained = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var all = await probe.SubscribeAsync("#", (payload, context, _) =>
        {
            if (context.Retain)
            {
                retained.Enqueue($"{context.Topic} ({payload.Length} bytes)");
            }

            return Task.CompletedTask;
        });
        await Task.Delay(500);
        Assert.True(retained.IsEmpty, "retained after the Quickstart: " + string.Join(", ", retained));
    }

    [MosquittoFact]
    public async Task DeviceFleet_with_broker_argument_runs_against_Mosquitto()
    {
        var (exitCode, output) = await ExampleRunner.RunAsync("DeviceFleet", "--broker", mosquitto.Broker.TcpAddress);

        Assert.True(exitCode == 0, output + mosquitto.Broker.Log);
        Assert.Contains("got calibrate(zero) (session present: True)", output, StringComparison.Ordinal);
        Assert.Contains("fleet run complete", output, StringComparison.Ordinal);
    }
}
