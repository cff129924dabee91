using System.Text.Json.Serialization;

namespace TypedMqtt.Tests.Requests;

public sealed record RebootCommand(int DelaySeconds, string Reason);

public sealed record RebootResult(string Device, string Reason, int DelaySeconds, string? Responder = null);

[JsonSerializable(typeof(RebootCommand))]
[JsonSerializable(typeof(RebootResult))]
internal sealed partial class RpcJson : JsonSerializerContext;

/// <summary>Request/response declared once: the generated client has the requester methods and Serve...Async responders.</summary>
[MqttContract(JsonContext = typeof(RpcJson))]
public partial interface IDeviceRpc
{
    [Request("test/rpc/{fleet}/{device}/reboot")]
    Task<RebootResult> RebootAsync(string fleet, string device, RebootCommand command, TimeSpan? timeout = null, CancellationToken cancellationToken = default);

    [Request("test/rpc/{fleet}/{device}/ping", TimeoutSeconds = 10)]
    Task<string> PingAsync(string fleet, string device, CancellationToken cancellationToken = default);

    [Request("test/rpc/{fleet}/jobs/{id}", SharedGroup = "rpc-workers", MaxConcurrency = 8)]
    Task<RebootResult?> RunJobAsync(string fleet, int id, RebootCommand? command, TimeSpan? timeout = null, CancellationToken cancellationToken = default);

    [Request("test/rpc/{fleet}/counters/{id}")]
    Task<RebootResult?> ReadCounterAsync(string fleet, int id, RebootCommand? command, TimeSpan? timeout = null, CancellationToken cancellationToken = default);
}
