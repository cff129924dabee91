using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Worker;

/// <summary>Which lines to simulate and how often.</summary>
public sealed class SensorOptions
{
    public string[] Lines { get; set; } = [];

    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>Publishes a reading per line at each interval through the injected typed client.</summary>
public sealed partial class SensorService(IPlant plant, IOptions<SensorOptions> options, HealthCheckService health, ILogger<SensorService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var report = await health.CheckHealthAsync(stoppingToken);
        LogHealth(logger, report.Status, report.Entries["mqtt"].Description);
        using var timer = new PeriodicTimer(options.Value.Interval);
        var step = 0;
        do
        {
            foreach (var line in options.Value.Lines)
            {
                var celsius = 20 + (step % 10) + line.Length / 10.0;
                await plant.PublishReadingAsync(line, new Reading(celsius, DateTimeOffset.UtcNow), stoppingToken);
            }

            step++;
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Health: {Status} ({Description})")]
    private static partial void LogHealth(ILogger logger, Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus status, string? description);
}

/// <summary>Handles one reading; a new instance (and scope) per message.</summary>
public sealed partial class ReadingHandler(ILogger<ReadingHandler> logger)
{
    public Task HandleAsync(string line, Reading reading, CancellationToken cancellationToken)
    {
        LogReading(logger, line, reading.Celsius);
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Line {Line}: {Celsius} °C")]
    private static partial void LogReading(ILogger logger, string line, double celsius);
}
