using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TypedMqtt.Hosting;

namespace TypedMqtt.Tests.Hosting;

[MqttContract]
public partial interface IPricing
{
    [Request("test/hosting/{run}/quote/{item}", TimeoutSeconds = 10)]
    Task<string> QuoteAsync(string run, string item, string currency, TimeSpan? timeout = null, CancellationToken cancellationToken = default);

    [Publish("test/hosting/{run}/audit/{id}", Qos = MqttQos.AtLeastOnce)]
    Task AuditAsync(string run, int id, string entry, CancellationToken cancellationToken = default);

    [Subscribe("test/hosting/{run}/audit/{id}", Qos = MqttQos.AtLeastOnce)]
    Task<MqttSubscription> OnAuditAsync(Func<string, int, string, CancellationToken, Task> handler, CancellationToken cancellationToken = default);
}

/// <summary>A responder's handler class: scoped, with a scoped dependency, resolved per request.</summary>
public sealed class QuoteHandler(ScopeProbe probe)
{
    public Task<string> QuoteAsync(string item, string currency) => Task.FromResult($"{item}:{currency}:{(probe is null ? 0 : 42)}");
}

/// <summary>Hosted responders (AddResponder) and subscriptions that return an MqttSubscription, with the real Generic Host.</summary>
[Collection(HostingCollection.Name)]
public sealed class HostedResponderTests : IAsyncLifetime
{
    private EmbeddedMqttBroker _broker = null!;

    public async Task InitializeAsync() => _broker = await EmbeddedMqttBroker.StartAsync();

    public async Task DisposeAsync() => await _broker.DisposeAsync();

    [Fact]
    public async Task A_hosted_responder_answers_each_request_from_its_own_scope_and_stops_with_the_host()
    {
        ScopeProbe.Reset();
        var run = "r" + Guid.NewGuid().ToString("N")[..8];
        using var host = Build(mqtt =>
        {
            mqtt.Services.AddScoped<ScopeProbe>().AddScoped<QuoteHandler>();
            mqtt.AddResponder<PricingClient>((pricing, handlers) =>
                pricing.ServeQuoteAsync((_, item, currency, _) => handlers.RunAsync<QuoteHandler, string>(h => h.QuoteAsync(item, currency))));
        });
        await host.StartAsync();
        await using var caller = await PricingClient.ConnectAsync(_broker.Address);

        var replies = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => caller.QuoteAsync(run, "item" + i, "EUR")));

        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"item{i}:EUR:42"), replies);
        Assert.Equal((10, 10), ScopeProbe.Counts);

        // Once the host has stopped nobody serves the topic: a request now runs out of time.
        await host.StopAsync();
        var error = await Assert.ThrowsAsync<MqttRequestTimeoutException>(() => caller.QuoteAsync(run, "late", "EUR", TimeSpan.FromMilliseconds(500)));
        Assert.True(error.Sent);
    }

    [Fact]
    public async Task A_hosted_subscription_that_returns_an_MqttSubscription_receives_until_the_host_stops()
    {
        var run = "r" + Guid.NewGuid().ToString("N")[..8];
        var received = new ConcurrentQueue<string>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var host = Build(mqtt => mqtt.AddSubscription<IPricing>((pricing, _) => pricing.OnAuditAsync((_, id, entry, _) =>
        {
            received.Enqueue($"{id}:{entry}");
            if (received.Count == 5)
            {
                all.TrySetResult();
            }

            return Task.CompletedTask;
        })));
        await host.StartAsync();
        await using var publisher = await PricingClient.ConnectAsync(_broker.Address);
        for (var id = 0; id < 5; id++)
        {
            await publisher.AuditAsync(run, id, "entry" + id);
        }

        await all.Task.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(Enumerable.Range(0, 5).Select(id => $"{id}:entry{id}"), received.OrderBy(e => e, StringComparer.Ordinal));

        await host.StopAsync();
        await publisher.AuditAsync(run, 99, "after stop");
        await Task.Delay(300);
        Assert.DoesNotContain(received, e => e.StartsWith("99:", StringComparison.Ordinal));
    }

    private IHost Build(Action<TypedMqttBuilder> configure)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Mqtt:Address"] = _broker.Address });
        builder.Logging.ClearProviders();
        configure(builder.Services.AddTypedMqtt(builder.Configuration.GetSection("Mqtt")).AddClient(IPricing.Attach));
        return builder.Build();
    }
}
