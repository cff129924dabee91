using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace TypedMqtt.Link;

/// <summary>
/// One re-authentication of an open link (MQTT 5 §4.12.1): AUTH "re-authenticate" with the authenticator's first data,
/// each AUTH "continue authentication" from the server answered, until AUTH "success", whose data the authenticator
/// must accept. A server that refuses sends DISCONNECT, which ends the link (and the exchange) with its reason; an
/// authenticator that refuses the server's final data ends the link with DISCONNECT 0x87.
/// </summary>
internal sealed class Reauthentication(IMqttAuthenticator authenticator, MqttLink link)
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Starts the exchange and waits for it to end.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var lost = link.Stop.Token.Register(() => _done.TrySetException(new MqttOperationException("The connection was lost during re-authentication.")));
        var data = await authenticator.StartAsync(reauthenticating: true, cancellationToken).ConfigureAwait(false);
        await link.SendAsync(Auth(MqttAuthenticateReasonCode.ReAuthenticate, data), cancellationToken).ConfigureAwait(false);
        await _done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An AUTH from the server during the exchange (called by the link's read loop).</summary>
    public async Task AnswerAsync(MqttAuthPacket auth)
    {
        var data = auth.AuthenticationData ?? ReadOnlyMemory<byte>.Empty;
        try
        {
            if (auth.ReasonCode == MqttAuthenticateReasonCode.ContinueAuthentication)
            {
                var answer = await authenticator.ContinueAsync(data, link.Stop.Token).ConfigureAwait(false);
                await link.SendAsync(Auth(MqttAuthenticateReasonCode.ContinueAuthentication, answer)).ConfigureAwait(false);
                return;
            }

            await authenticator.CompleteAsync(data, link.Stop.Token).ConfigureAwait(false);
            _done.TrySetResult();
        }
#pragma warning disable CA1031 // The authenticator's refusal ends the link and the caller's task with it.
        catch (Exception e)
#pragma warning restore CA1031
        {
            _done.TrySetException(new MqttOperationException($"Re-authentication failed: {e.Message}", 0x87, e));
            _ = link.SendQuietlyAsync(new MqttDisconnectPacket { ReasonCode = MqttDisconnectReasonCode.NotAuthorized });
            link.Lose(new LinkLoss($"re-authentication failed: {e.Message}", 0x87, e, LinkLossCause.Failure));
        }
    }

    private MqttAuthPacket Auth(MqttAuthenticateReasonCode reason, ReadOnlyMemory<byte> data) =>
        new() { ReasonCode = reason, AuthenticationMethod = authenticator.Method, AuthenticationData = data.ToArray() };
}
