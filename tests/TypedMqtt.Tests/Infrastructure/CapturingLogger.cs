using Microsoft.Extensions.Logging;

namespace TypedMqtt.Tests.Infrastructure;

/// <summary>An <see cref="ILogger"/> that keeps every entry, for tests that assert on what was logged.</summary>
public sealed class CapturingLogger : ILogger
{
    private readonly List<(LogLevel Level, EventId Id, string Message)> _entries = [];

    public IReadOnlyList<(LogLevel Level, EventId Id, string Message)> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        lock (_entries)
        {
            _entries.Add((logLevel, eventId, formatter(state, exception)));
        }
    }
}

/// <summary>Hands one <see cref="CapturingLogger"/> to every category (for a host's logging builder).</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    public CapturingLogger Logger { get; } = new();

    public IReadOnlyList<(LogLevel Level, EventId Id, string Message)> Entries => Logger.Entries;

    public ILogger CreateLogger(string categoryName) => Logger;

    public void Dispose()
    {
    }
}
