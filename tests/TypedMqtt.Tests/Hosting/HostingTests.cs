using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TypedMqtt.Hosting;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Hosting;

[MqttContract]
public partial interface IOrders
{
    [Publish("test/hosting/{run}/orders/{id}", Qos = MqttQos.AtLeastOnce)]
    Task PlaceAsync(string run, int id, string item, CancellationToken cancellationToken = default);

    [Subscribe("test/hosting/{run}/orders/{id}", Qos = MqttQos.AtLeastOnce)]
    Task<IAsyncDisposable> OnOrderAsync(Func<string, int, string, CancellationToken, Task> handler, CancellationToken cancellationToken = default);

    [Publish("test/hosting/{run}/confirmations/{id}", Qos = MqttQos.AtLeastOnce)]
    Task ConfirmAsync(string run, int id, string item, CancellationToken cancellationToken = default);
}

/// <summary>A scoped dependency that counts how many scopes were created and disposed.</summary>
public sealed class ScopeProbe : IDisposable
{
    private static int _created;
    private static int _disposed;

    public ScopeProbe() => Interlocked.Increment(ref _created);

    public static (int Created, int Disposed) Counts => (Volatile.Read(ref _created), Volatile.Read(ref _disposed));

    public static void Reset() => (_created, _disposed) = (0, 0);

    public void Dispose() => Interlocked.Increment(ref _disposed);
}

/// <summary>A handler class, as a user writes it: the typed client and a scoped dependency are injected.</summary>
public sealed class OrderHandler(IOrders orders, ScopeProbe probe)
{
    public ScopeProbe Probe { get; } = probe;

    public Task HandleAsync(string run, int id, string item, CancellationToken cancellationToken) =>
        orders.ConfirmAsync(run, id, item.ToUpperInvariant(), cancellationToken);
}

/// <summary>TypedMqtt.Hosting with the real Generic Host, against the embedded broker.</summary>
[Collection(HostingCollection.Name)]
public sealed class HostingTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private EmbeddedMqttBroker _broker = null!;

    public async Task InitializeAsync() => _broker = await EmbeddedMqttBroker.StartAsync();

    public async Task DisposeAsync() => await _broker.DisposeAsync();

    private IHost Build(Dictionary<string, string?> settings, Action<TypedMqttBuilder>? more = null, CapturingLoggerProvider? logs = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
        }

        var mqtt = builder.Services.AddTypedMqtt(builder.Configuration.GetSection("Mqtt")).AddClient(IOrders.Attach).AddHealthCheck("ready");
        more?.Invoke(mqtt);
        return builder.Build();
    }

    private Dictionary<string, string?> Settings(params (string Key, string? Value)[] more)
    {
        var settings = new Dictionary<string, string?> { ["Mqtt:Address"] = _broker.Address, ["Mqtt:Options:keepAlive"] = "15" };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return settings;
    }

    [Fact]
    public async Task Settings_are_bound_from_configuration_and_the_connection_opens_with_the_host()
    {
        using var host = Build(Settings(("Mqtt:ClientId", "hosted-1"), ("Mqtt:Options:cleanStart", "false"), ("Mqtt:Options:sessionExpiry", "60")));
        await host.StartAsync();
        var connection = host.Services.GetRequiredService<MqttConnection>();
        Assert.True(connection.IsConnected);
        Assert.Equal(("hosted-1", TimeSpan.FromSeconds(15), false, 60u), (connection.Options.ClientId, connection.Options.KeepAlive, connection.Options.CleanStart, connection.Options.SessionExpiryInterval));
        Assert.Same(host.Services.GetRequiredService<OrdersClient>(), host.Services.GetRequiredService<IOrders>());
        Assert.Same(connection, host.Services.GetRequiredService<OrdersClient>().Connection);
        await host.StopAsync();
        Assert.Equal(MqttConnectionState.Closed, connection.State);
    }

    [Theory]
    [InlineData("Mqtt:Options:keepAlive", "soon", "keepAlive")]
    [InlineData("Mqtt:Options:colour", "blue", "Unknown address option 'colour'")]
    [InlineData("Mqtt:Address", "", "Address is missing")]
    [InlineData("Mqtt:ClientId", "client+with/wildcards-and-a-very-long-name", "ClientId")]
    public async Task Invalid_settings_stop_the_host_at_start_with_the_runtime_message(string key, string value, string expected)
    {
        using var host = Build(Settings((key, value)));
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("MQTT settings 'Mqtt': ", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_handler_class_gets_the_typed_client_injected_and_a_scope_disposed_per_message()
    {
        ScopeProbe.Reset();
        var run = "r" + Guid.NewGuid().ToString("N")[..8];
        using var host = Build(Settings(), mqtt =>
        {
            // As an application registers them: the handler class and its dependency are scoped.
            mqtt.Services.AddScoped<ScopeProbe>().AddScoped<OrderHandler>();
            mqtt.AddSubscription<IOrders>((orders, handlers) =>
                orders.OnOrderAsync((r, id, item, ct) => handlers.RunAsync<OrderHandler>(h => h.HandleAsync(r, id, item, ct))));
        });
        await host.StartAsync();
        await using var other = await OrdersClient.ConnectAsync(_broker.Address);
        var confirmations = new ConcurrentQueue<string>();
        await using var confirmed = await other.Connection.SubscribeAsync($"test/hosting/{run}/confirmations/+", (payload, context, _) =>
        {
            confirmations.Enqueue(context.Topic.Split('/')[^1] + ":" + System.Text.Encoding.UTF8.GetString(payload.Span));
            return Task.CompletedTask;
        }, MqttSubscriptionOptions.Default with { Qos = MqttQos.AtLeastOnce });

        for (var id = 0; id < 20; id++)
        {
            await other.PlaceAsync(run, id, "item" + id);
        }

        var deadline = DateTime.UtcNow + Wait;
        while (confirmations.Count < 20 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(Enumerable.Range(0, 20).Select(id => $"{id}:ITEM{id}").Order(), confirmations.Order());
        Assert.Equal((20, 20), ScopeProbe.Counts);
        await host.StopAsync();
    }

    [Fact]
    public async Task A_graceful_stop_delivers_what_was_accepted_before_it_disconnects()
    {
        var run = "r" + Guid.NewGuid().ToString("N")[..8];
        await using var other = await OrdersClient.ConnectAsync(_broker.Address);
        var received = new ConcurrentDictionary<int, bool>();
        await using var orders = await other.OnOrderAsync((_, id, _, _) =>
        {
            received[id] = true;
            return Task.CompletedTask;
        });
        using var host = Build(Settings());
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IOrders>();

        // Accepted, not awaited: the stop has to deliver them.
        var publishes = Enumerable.Range(0, 500).Select(id => client.PlaceAsync(run, id, "x")).ToList();
        await host.StopAsync();

        Assert.All(publishes, p => Assert.True(p.IsCompletedSuccessfully, "every publish was acknowledged before DISCONNECT"));
        var deadline = DateTime.UtcNow + Wait;
        while (received.Count < 500 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(500, received.Count);
    }

    [Fact]
    public async Task A_stop_that_cannot_deliver_says_what_was_left()
    {
        var logs = new CapturingLoggerProvider();
        using var host = Build(Settings(("Mqtt:FlushTimeout", "00:00:00.300")), logs: logs);
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IOrders>();
        await _broker.DisposeAsync(); // the broker is gone: the publishes wait in the offline queue
        var connection = host.Services.GetRequiredService<MqttConnection>();
        var until = DateTime.UtcNow + Wait;
        while (connection.IsConnected && DateTime.UtcNow < until)
        {
            await Task.Delay(10);
        }

        var publishes = Enumerable.Range(0, 7).Select(id => client.PlaceAsync("gone", id, "x")).ToList();

        await host.StopAsync();

        var warning = Assert.Single(logs.Entries, e => e.Id.Id == 101);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.True(warning.Message.Contains("7 publishes still queued and 0 unacknowledged", StringComparison.Ordinal), warning.Message);
        _broker = await EmbeddedMqttBroker.StartAsync();
    }

    [Fact]
    public async Task The_health_check_flips_when_the_broker_stops()
    {
        var port = _broker.Port;
        using var host = Build(Settings(("Mqtt:Options:connectTimeout", "2")));
        var health = host.Services.GetRequiredService<HealthCheckService>();
        Assert.Equal(HealthStatus.Unhealthy, (await health.CheckHealthAsync()).Status);

        await host.StartAsync();
        var healthy = await health.CheckHealthAsync();
        Assert.Equal(HealthStatus.Healthy, healthy.Status);
        Assert.Contains("connected to mqtt://127.0.0.1:" + port, healthy.Entries["mqtt"].Description, StringComparison.Ordinal);

        await _broker.DisposeAsync();
        var deadline = DateTime.UtcNow + Wait;
        HealthReport report;
        while ((report = await health.CheckHealthAsync()).Status == HealthStatus.Healthy && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(HealthStatus.Degraded, report.Status);
        Assert.StartsWith("MQTT: Disconnected (", report.Entries["mqtt"].Description, StringComparison.Ordinal);

        _broker = await EmbeddedMqttBroker.StartAsync(port);
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((report = await health.CheckHealthAsync()).Status != HealthStatus.Healthy && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Equal(HealthStatus.Healthy, report.Status);
        await host.StopAsync();
        Assert.Equal(HealthStatus.Unhealthy, (await health.CheckHealthAsync()).Status);
    }

    [Fact]
    public async Task Named_connections_have_their_own_keyed_clients()
    {
        await using var second = await EmbeddedMqttBroker.StartAsync();
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Mqtt:Address"] = _broker.Address, ["Plant:Address"] = second.Address });
        builder.Logging.ClearProviders();
        builder.Services.AddTypedMqtt(builder.Configuration.GetSection("Mqtt")).AddClient(IOrders.Attach);
        builder.Services.AddTypedMqtt("plant", builder.Configuration.GetSection("Plant")).AddClient(IOrders.Attach);
        using var host = builder.Build();
        await host.StartAsync();

        var main = host.Services.GetRequiredService<IOrders>();
        var plant = host.Services.GetRequiredKeyedService<IOrders>("plant");
        Assert.NotSame(main, plant);
        Assert.EndsWith(":" + _broker.Port, ((OrdersClient)main).Connection.Options.DisplayAddress, StringComparison.Ordinal);
        Assert.EndsWith(":" + second.Port, ((OrdersClient)plant).Connection.Options.DisplayAddress, StringComparison.Ordinal);
        Assert.Same(((OrdersClient)plant).Connection, host.Services.GetRequiredKeyedService<MqttConnection>("plant"));
        await host.StopAsync();
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostingCollection
{
    public const string Name = "Hosting";
}
