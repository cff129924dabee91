namespace TypedMqtt;

/// <summary>
/// MQTT 5 enhanced authentication (§4.12): a challenge/response exchange such as SCRAM or a token refresh, run when the
/// connection opens and again on re-authentication. The client sends <see cref="Method"/> with the data of
/// <see cref="StartAsync"/>; each AUTH "continue authentication" (0x18) from the server is answered with the data of
/// <see cref="ContinueAsync"/>; the server's last data (in CONNACK, or in AUTH "success") goes to
/// <see cref="CompleteAsync"/>, which throws when it does not prove the server (the connection then fails).
/// </summary>
public interface IMqttAuthenticator
{
    /// <summary>The authentication method, for example <c>SCRAM-SHA-256</c>; the same for every exchange.</summary>
    string Method { get; }

    /// <summary>The data of the first message: in CONNECT, or in AUTH "re-authenticate" (0x19).</summary>
    /// <param name="reauthenticating">False in CONNECT, true when re-authenticating an open connection.</param>
    /// <param name="cancellationToken">Cancels the exchange.</param>
    /// <returns>The data (may be empty).</returns>
    ValueTask<ReadOnlyMemory<byte>> StartAsync(bool reauthenticating, CancellationToken cancellationToken);

    /// <summary>Answers one challenge of the server.</summary>
    /// <param name="serverData">The server's data in AUTH "continue authentication".</param>
    /// <param name="cancellationToken">Cancels the exchange.</param>
    /// <returns>The data of the client's AUTH "continue authentication".</returns>
    ValueTask<ReadOnlyMemory<byte>> ContinueAsync(ReadOnlyMemory<byte> serverData, CancellationToken cancellationToken);

    /// <summary>The exchange succeeded on the server's side; check its final data, and throw to refuse it.</summary>
    /// <param name="serverData">The authentication data of CONNACK or AUTH "success" (may be empty).</param>
    /// <param name="cancellationToken">Cancels the exchange.</param>
    /// <returns>A task that completes when the data is accepted.</returns>
    ValueTask CompleteAsync(ReadOnlyMemory<byte> serverData, CancellationToken cancellationToken);
}
