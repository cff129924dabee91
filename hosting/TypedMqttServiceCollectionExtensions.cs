using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TypedMqtt;
using TypedMqtt.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers TypedMqtt connections in the Generic Host.</summary>
public static class TypedMqttServiceCollectionExtensions
{
    /// <summary>
    /// Registers the default MQTT connection, its settings bound from <paramref name="configuration"/> (see
    /// <see cref="TypedMqttSettings"/>) and validated when the host starts with the runtime's own messages; the
    /// connection opens when the host starts and closes gracefully when it stops. <see cref="MqttConnection"/> becomes
    /// injectable; add typed clients with <see cref="TypedMqttBuilder.AddClient{TClient}"/>.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The section, for example <c>builder.Configuration.GetSection("Mqtt")</c>.</param>
    /// <param name="configure">Settings in code, applied after configuration (a will, TLS certificates, an outbox...).</param>
    /// <returns>A builder for clients, subscriptions and the health check.</returns>
    public static TypedMqttBuilder AddTypedMqtt(this IServiceCollection services, IConfiguration configuration, Action<MqttConnectionOptionsBuilder>? configure = null) =>
        services.AddTypedMqtt(string.Empty, configuration, configure);

    /// <summary>
    /// Registers a named MQTT connection (for a second broker): as <see cref="AddTypedMqtt(IServiceCollection, IConfiguration, Action{MqttConnectionOptionsBuilder}?)"/>,
    /// with the connection and its clients as keyed services under <paramref name="name"/>.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="name">The connection's name.</param>
    /// <param name="configuration">Its configuration section.</param>
    /// <param name="configure">Settings in code, applied after configuration.</param>
    /// <returns>A builder for clients, subscriptions and the health check.</returns>
    public static TypedMqttBuilder AddTypedMqtt(this IServiceCollection services, string name, IConfiguration configuration, Action<MqttConnectionOptionsBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(configuration);
        var path = configuration is IConfigurationSection section ? section.Path : "(configuration)";
        var registration = new TypedMqttRegistration(name, path, configure);
        services.AddOptions<TypedMqttSettings>(name)
            .Configure(settings => Bind(configuration, settings))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<TypedMqttSettings>>(new SettingsValidator(registration));
        services.AddKeyedSingleton(name, (sp, _) => new MqttConnectionHost(registration, sp));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredKeyedService<MqttConnectionHost>(name));
        var key = name.Length == 0 ? null : name;
        services.Add(ServiceDescriptor.KeyedSingleton(key, (sp, _) => sp.GetRequiredKeyedService<MqttConnectionHost>(name).Connection));
        return new TypedMqttBuilder(services, registration);
    }

    /// <summary>Reads the section by hand: no reflection, so the package stays trim- and AOT-safe.</summary>
    private static void Bind(IConfiguration configuration, TypedMqttSettings settings)
    {
        settings.Address = configuration["Address"] ?? settings.Address;
        settings.ClientId = configuration["ClientId"] ?? settings.ClientId;
        settings.UserName = configuration["UserName"] ?? settings.UserName;
        settings.Password = configuration["Password"] ?? settings.Password;
        if (configuration["FlushTimeout"] is { } flush)
        {
            settings.FlushTimeout = TimeSpan.TryParse(flush, System.Globalization.CultureInfo.InvariantCulture, out var timeout) && timeout >= TimeSpan.Zero
                ? timeout
                : throw new FormatException($"FlushTimeout '{flush}' is not a time span such as 00:00:05.");
        }

        foreach (var option in configuration.GetSection("Options").GetChildren())
        {
            if (option.Value is { } value)
            {
                settings.Options[option.Key] = value;
            }
        }
    }

    private static string? Check(TypedMqttRegistration registration, TypedMqttSettings settings)
    {
        try
        {
            registration.BuildOptions(settings, null);
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }

    /// <summary>Fails start-time validation with the runtime's message (what is wrong, and what to do).</summary>
    private sealed class SettingsValidator(TypedMqttRegistration registration) : IValidateOptions<TypedMqttSettings>
    {
        public ValidateOptionsResult Validate(string? name, TypedMqttSettings options) =>
            !string.Equals(name ?? string.Empty, registration.Name, StringComparison.Ordinal) ? ValidateOptionsResult.Skip
                : Check(registration, options) is { } problem ? ValidateOptionsResult.Fail(problem)
                : ValidateOptionsResult.Success;
    }
}
