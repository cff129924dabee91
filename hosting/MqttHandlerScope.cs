using Microsoft.Extensions.DependencyInjection;

namespace TypedMqtt.Hosting;

/// <summary>
/// Runs a message handler class the way ASP.NET Core runs a controller: each call gets a new dependency-injection scope,
/// the handler and its scoped dependencies (a DbContext, a unit of work) are resolved from it, and the scope is disposed
/// when the handler is done, whether it succeeded or threw.
/// </summary>
public sealed class MqttHandlerScope
{
    private readonly IServiceScopeFactory _scopes;

    internal MqttHandlerScope(IServiceScopeFactory scopes) => _scopes = scopes;

    /// <summary>Resolves <typeparamref name="THandler"/> from a new scope, runs <paramref name="handle"/> and disposes the scope.</summary>
    /// <typeparam name="THandler">The handler class, registered in the container (usually scoped or transient).</typeparam>
    /// <param name="handle">What to do with the handler.</param>
    /// <returns>A task that completes when the handler is done and the scope disposed.</returns>
    public async Task RunAsync<THandler>(Func<THandler, Task> handle)
        where THandler : notnull
    {
        ArgumentNullException.ThrowIfNull(handle);
        await using var scope = _scopes.CreateAsyncScope();
        await handle(scope.ServiceProvider.GetRequiredService<THandler>()).ConfigureAwait(false);
    }

    /// <summary>Resolves <typeparamref name="THandler"/> from a new scope and returns what it computes (a responder's reply).</summary>
    /// <typeparam name="THandler">The handler class.</typeparam>
    /// <typeparam name="TResult">What it returns.</typeparam>
    /// <param name="handle">What to do with the handler.</param>
    /// <returns>The handler's result, once the scope is disposed.</returns>
    public async Task<TResult> RunAsync<THandler, TResult>(Func<THandler, Task<TResult>> handle)
        where THandler : notnull
    {
        ArgumentNullException.ThrowIfNull(handle);
        await using var scope = _scopes.CreateAsyncScope();
        return await handle(scope.ServiceProvider.GetRequiredService<THandler>()).ConfigureAwait(false);
    }
}
