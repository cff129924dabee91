using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace TypedMqtt.Hosting;

/// <summary>Adds typed clients, subscriptions and a health check to one registered connection.</summary>
public sealed class TypedMqttBuilder
{
    private readonly TypedMqttRegistration _registration;

    internal TypedMqttBuilder(IServiceCollection services, TypedMqttRegistration registration)
    {
        Services = services;
        _registration = registration;
    }

    /// <summary>The service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>The connection's name; empty for the default connection.</summary>
    public string Name => _registration.Name;

    /// <summary>
    /// Registers a generated client over this connection, as a singleton of its class and of every contract interface it
    /// implements: <c>.AddClient(IHome.Attach)</c> makes <c>HomeClient</c> and <c>IHome</c> injectable. For a named
    /// connection they are keyed services under its name (<c>[FromKeyedServices("plant")] IHome home</c>).
    /// </summary>
    /// <typeparam name="TClient">The generated client class.</typeparam>
    /// <param name="attach">Creates the client over a connection: the contract's <c>Attach</c>, or the client's constructor.</param>
    /// <returns>This builder.</returns>
    public TypedMqttBuilder AddClient<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.Interfaces)] TClient>(Func<MqttConnection, TClient> attach)
        where TClient : class
    {
        ArgumentNullException.ThrowIfNull(attach);
        var key = KeyOrNull;
        Services.Add(ServiceDescriptor.KeyedSingleton(key, (sp, _) => attach(Connection(sp))));
        foreach (var contract in typeof(TClient).GetInterfaces().Where(i => i.IsDefined(typeof(MqttContractAttribute), inherit: false)))
        {
            Services.Add(ServiceDescriptor.KeyedSingleton(contract, key, (sp, k) => sp.GetRequiredKeyedService<TClient>(k)));
        }

        return this;
    }

    /// <summary>
    /// Subscribes when the host starts (after the connection opened) and unsubscribes when it stops, in the spirit of
    /// minimal APIs: <c>.AddSubscription&lt;HomeClient&gt;((home, handlers) =&gt; home.OnTemperatureAsync((room, t, context, ct) =&gt;
    /// handlers.RunAsync&lt;TemperatureHandler&gt;(h =&gt; h.HandleAsync(room, t, ct))))</c>. Each message then gets its own
    /// scope; the handler class and its scoped dependencies come from it and are disposed after it.
    /// </summary>
    /// <typeparam name="TClient">The generated client (registered with <see cref="AddClient{TClient}"/>).</typeparam>
    /// <param name="subscribe">Makes the subscription.</param>
    /// <returns>This builder.</returns>
    public TypedMqttBuilder AddSubscription<TClient>(Func<TClient, MqttHandlerScope, Task<IAsyncDisposable>> subscribe)
        where TClient : class
    {
        ArgumentNullException.ThrowIfNull(subscribe);
        _registration.Subscriptions.Add((sp, _) => subscribe(sp.GetRequiredKeyedService<TClient>(KeyOrNull), Handlers(sp)));
        return this;
    }

    /// <inheritdoc cref="AddSubscription{TClient}(Func{TClient, MqttHandlerScope, Task{IAsyncDisposable}})"/>
    public TypedMqttBuilder AddSubscription<TClient>(Func<TClient, MqttHandlerScope, Task<MqttSubscription>> subscribe)
        where TClient : class
    {
        ArgumentNullException.ThrowIfNull(subscribe);
        _registration.Subscriptions.Add(async (sp, _) => await subscribe(sp.GetRequiredKeyedService<TClient>(KeyOrNull), Handlers(sp)).ConfigureAwait(false));
        return this;
    }

    /// <summary>Starts a responder when the host starts and stops it when the host stops: <c>.AddResponder&lt;HomeClient&gt;((home, handlers) =&gt; home.ServeSetThermostatAsync(...))</c>.</summary>
    /// <typeparam name="TClient">The generated client.</typeparam>
    /// <param name="serve">Starts the responder.</param>
    /// <returns>This builder.</returns>
    public TypedMqttBuilder AddResponder<TClient>(Func<TClient, MqttHandlerScope, Task<MqttResponder>> serve)
        where TClient : class
    {
        ArgumentNullException.ThrowIfNull(serve);
        _registration.Subscriptions.Add(async (sp, _) => await serve(sp.GetRequiredKeyedService<TClient>(KeyOrNull), Handlers(sp)).ConfigureAwait(false));
        return this;
    }

    /// <summary>
    /// Adds a health check (Microsoft.Extensions.Diagnostics.HealthChecks) named <c>mqtt</c> (or <c>mqtt-{name}</c>):
    /// Healthy while connected, Degraded while reconnecting, Unhealthy before the host started or after it stopped; the
    /// description carries the latest reason (for example "keep-alive timeout" or "reconnect attempt 3 failed: ...").
    /// </summary>
    /// <param name="tags">Tags for filtering (for example "ready").</param>
    /// <returns>This builder.</returns>
    public TypedMqttBuilder AddHealthCheck(params string[] tags)
    {
        var name = Name.Length == 0 ? "mqtt" : "mqtt-" + Name;
        Services.AddHealthChecks().Add(new HealthCheckRegistration(name, sp => new MqttHealthCheck(Host(sp)), HealthStatus.Unhealthy, tags));
        return this;
    }

    private string? KeyOrNull => Name.Length == 0 ? null : Name;

    private MqttConnection Connection(IServiceProvider services) => Host(services).Connection;

    private MqttConnectionHost Host(IServiceProvider services) => services.GetRequiredKeyedService<MqttConnectionHost>(Name);

    private static MqttHandlerScope Handlers(IServiceProvider services) => new(services.GetRequiredService<IServiceScopeFactory>());
}

/// <summary>Reports whether a registered connection is up.</summary>
internal sealed class MqttHealthCheck(MqttConnectionHost host) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!host.IsOpen)
        {
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, "MQTT: " + host.LastReason));
        }

        var connection = host.Connection;
        var data = new Dictionary<string, object>
        {
            ["state"] = connection.State.ToString(),
            ["address"] = connection.Options.DisplayAddress,
            ["queued"] = connection.Statistics.QueueLength,
        };
        return Task.FromResult(connection.IsConnected
            ? HealthCheckResult.Healthy($"MQTT: connected to {connection.Options.DisplayAddress}", data)
            : HealthCheckResult.Degraded($"MQTT: {connection.State} ({host.LastReason})", data: data));
    }
}
