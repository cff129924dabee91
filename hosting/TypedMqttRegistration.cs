using Microsoft.Extensions.Logging;

namespace TypedMqtt.Hosting;

/// <summary>Everything registered for one connection: how to build its options and what to subscribe at start.</summary>
internal sealed class TypedMqttRegistration(string name, string configurationPath, Action<MqttConnectionOptionsBuilder>? configure)
{
    public string Name { get; } = name;

    public List<Func<IServiceProvider, CancellationToken, Task<IAsyncDisposable>>> Subscriptions { get; } = [];

    /// <summary>The options from configuration, then the code's own settings, with the container's logger.</summary>
    /// <exception cref="ArgumentException">An option is invalid (the runtime's message, prefixed with where the settings come from).</exception>
    public MqttConnectionOptions BuildOptions(TypedMqttSettings settings, ILoggerFactory? loggers)
    {
        try
        {
            if (string.IsNullOrWhiteSpace(settings.Address))
            {
                throw new ArgumentException("Address is missing; set it to the broker's address, for example \"mqtt://localhost:1883\".");
            }

            var builder = MqttConnectionOptionsBuilder.FromAddress(settings.Address);
            foreach (var (option, value) in settings.Options)
            {
                builder.WithOption(option, value);
            }

            if (settings.ClientId is { Length: > 0 } clientId)
            {
                builder.WithClientId(clientId);
            }

            if (settings.UserName is { Length: > 0 } userName)
            {
                builder.WithCredentials(userName, settings.Password);
            }

            if (loggers is not null)
            {
                builder.Configure(o => o with { Logger = loggers.CreateLogger("TypedMqtt") });
            }

            configure?.Invoke(builder);
            return builder.Build();
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw new ArgumentException($"MQTT settings '{configurationPath}': {e.Message}", e);
        }
    }
}
