using TypedMqtt;
using Worker;

// A worker service with TypedMqtt.Hosting: the connection comes from appsettings.json ("Mqtt"), opens when the host
// starts and closes gracefully on Ctrl-C; the typed client is injected into a background service that publishes, and
// each received reading is handled by a handler class resolved from its own scope. With no Mqtt:Address it starts an
// embedded broker, so `dotnet run` works without one.
var builder = Host.CreateApplicationBuilder(args);
await using var embedded = string.IsNullOrEmpty(builder.Configuration["Mqtt:Address"]) ? await EmbeddedMqttBroker.StartAsync() : null;
if (embedded is not null)
{
    builder.Configuration["Mqtt:Address"] = embedded.Address;
}

builder.Services.AddTypedMqtt(builder.Configuration.GetSection("Mqtt"))
    .AddClient(IPlant.Attach)
    .AddSubscription<IPlant>((plant, handlers) =>
        plant.OnReadingAsync((line, reading, ct) => handlers.RunAsync<ReadingHandler>(h => h.HandleAsync(line, reading, ct))))
    .AddHealthCheck("ready");
builder.Services.AddScoped<ReadingHandler>();
builder.Services.Configure<SensorOptions>(options =>
{
    options.Lines = builder.Configuration.GetSection("Sensors:Lines").GetChildren().Select(c => c.Value!).ToArray();
    options.Interval = TimeSpan.Parse(builder.Configuration["Sensors:Interval"] ?? "00:00:01", System.Globalization.CultureInfo.InvariantCulture);
});
builder.Services.AddHostedService<SensorService>();

var host = builder.Build();
host.Services.GetRequiredService<ILogger<Program>>().LogInformation(
    "MQTT broker: {Broker}", embedded is null ? builder.Configuration["Mqtt:Address"] : $"embedded at {embedded.Address}");
await host.RunAsync();
return 0;
