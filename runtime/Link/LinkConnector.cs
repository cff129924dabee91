using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Formatter;
using MQTTnet.Exceptions;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using TypedMqtt.Diagnostics;

namespace TypedMqtt.Link;

/// <summary>
/// Opens one network connection and performs the MQTT handshake: turns <see cref="MqttConnectionOptions"/> into MQTTnet's
/// transport options and a CONNECT packet, writes it through a validating channel adapter, reads CONNACK, and turns every
/// way this can fail into an <see cref="MqttConnectException"/> that says what to do.
/// </summary>
internal sealed class LinkConnector(MqttConnectionOptions options, ILogger logger)
{
    /// <summary>Connects; on success the adapter is open and CONNACK accepted the connection.</summary>
    public async Task<(IMqttChannelAdapter Adapter, MqttConnectResult Result)> ConnectAsync(bool cleanStart, CancellationToken cancellationToken)
    {
        var tlsFailure = new TlsFailure();
        if (options.UsesTls && options.Tls.DangerousAcceptAnyServerCertificate)
        {
            Log.UnsafeTls(logger, options.DisplayAddress);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        var connectOptions = cleanStart == options.CleanStart ? options : options with { CleanStart = cleanStart };
        if (options.Authenticator is { } authenticator)
        {
            var data = await authenticator.StartAsync(reauthenticating: false, timeout.Token).ConfigureAwait(false);
            connectOptions = connectOptions with { AuthenticationMethod = authenticator.Method, AuthenticationData = data };
        }

        var clientOptions = BuildClientOptions(connectOptions, tlsFailure);
        var limits = new Wire.InboundLimits(
            options.ProtocolVersion == MqttVersion.V500,
            options.MaximumPacketSize ?? Math.Max(Wire.InboundLimits.DefaultInboundPacketLimit, options.MaxInboundPayloadBytes + 70_000),
            options.TopicAliasMaximum ?? 0);
        var adapter = Wire.ValidatingAdapterFactory.Create(clientOptions, limits, options.StreamConnector,
            options.DedicatedReadingThread ? LinkSettings.DeadlineFor(options.KeepAlive, options.ConnectTimeout) : null);
        MqttConnAckPacket connAck;
        try
        {
            connAck = await HandshakeAsync(adapter, MqttConnectPacketFactory.Create(clientOptions), options.Authenticator, timeout.Token).ConfigureAwait(false);
        }
        catch (AuthenticatorRefused refused)
        {
            adapter.Dispose();
            throw new MqttConnectException(MqttConnectFailure.Refused, null,
                $"{options.DisplayAddress} accepted the connection, but the authenticator ({options.Authenticator!.Method}) refused the server's final authentication data: {refused.InnerException!.Message}", refused.InnerException);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            adapter.Dispose();
            throw TranslateConnectFailure(e, tlsFailure, timeout.IsCancellationRequested);
        }
        catch
        {
            adapter.Dispose();
            throw;
        }

        var result = MqttClientConnectResultFactory.Create(connAck, clientOptions.ProtocolVersion);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            adapter.Dispose();
            throw Refused(result);
        }

        return (adapter, ToConnectResult(result, options.ClientId, options.ProtocolVersion) with { ServerAddress = options.DisplayAddress });
    }

    /// <summary>
    /// CONNECT, then CONNACK; with an authenticator, each AUTH "continue authentication" before it is answered, and a
    /// successful CONNACK's authentication data must satisfy the authenticator (MQTT 5 §4.12).
    /// </summary>
    private static async Task<MqttConnAckPacket> HandshakeAsync(IMqttChannelAdapter adapter, MqttConnectPacket connect, IMqttAuthenticator? authenticator, CancellationToken cancellationToken)
    {
        await adapter.ConnectAsync(cancellationToken).ConfigureAwait(false);
        await adapter.SendPacketAsync(connect, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var packet = await Wire.ValidatingAdapter.ReceiveAsync(adapter, cancellationToken).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            switch (packet)
            {
                case MqttConnAckPacket { IsSessionPresent: true } resumed when connect.CleanSession && resumed.ReasonCode == MqttConnectReasonCode.Success:
                    // MQTT-3.2.2-4 (3.1.1: MQTT-3.2.2-1): asked for a clean start, this client holds no session state, so
                    // a server that claims to have resumed one is not followed.
                    throw new Wire.MqttProtocolViolation(0x82, "the broker answered a clean start (CleanStart 1) with Session Present 1: it claims to resume a session this client asked it to discard");
                case MqttConnAckPacket connAck:
                    if (authenticator is not null && connAck.ReasonCode == MqttConnectReasonCode.Success)
                    {
                        try
                        {
                            await authenticator.CompleteAsync(connAck.AuthenticationData ?? ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
                        }
                        catch (Exception e) when (e is not OperationCanceledException)
                        {
                            throw new AuthenticatorRefused(e);
                        }
                    }

                    return connAck;
                case MqttAuthPacket { ReasonCode: MqttAuthenticateReasonCode.ContinueAuthentication } challenge when authenticator is not null:
                    var answer = await authenticator.ContinueAsync(challenge.AuthenticationData ?? ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
                    await adapter.SendPacketAsync(
                        new MqttAuthPacket { ReasonCode = MqttAuthenticateReasonCode.ContinueAuthentication, AuthenticationMethod = authenticator.Method, AuthenticationData = answer.ToArray() },
                        cancellationToken).ConfigureAwait(false);
                    continue;
                case null:
                    throw new MqttCommunicationException("The broker closed the connection before CONNACK.");
                case MqttAuthPacket:
                    throw new Wire.MqttProtocolViolation(0x82, "the broker sent AUTH before CONNACK, but this connection did not start enhanced authentication (give an IMqttAuthenticator with WithAuthenticator)");
                default:
                    throw new Wire.MqttProtocolViolation(0x82, $"the broker sent {packet.GetType().Name} instead of CONNACK");
            }
        }
    }

    /// <summary>The authenticator refused the server's final data (its exception inside).</summary>
    private sealed class AuthenticatorRefused(Exception inner) : Exception(inner.Message, inner);

    private MqttConnectException TranslateConnectFailure(Exception e, TlsFailure tls, bool timedOut)
    {
        var address = options.DisplayAddress;
        if (tls.Reason is not null || ExceptionChain.Find<AuthenticationException>(e) is not null)
        {
            var why = tls.Reason ?? ExceptionChain.Find<AuthenticationException>(e)?.Message ?? e.Message;
            return new MqttConnectException(MqttConnectFailure.Tls, null,
                $"TLS handshake with {address} failed: {why}", e);
        }

        if (timedOut || e is OperationCanceledException || ExceptionChain.Find<MqttCommunicationTimedOutException>(e) is not null)
        {
            return new MqttConnectException(MqttConnectFailure.Timeout, null,
                $"No CONNACK from {address} within the connect timeout of {options.ConnectTimeout.TotalSeconds:0.###} s. Check the address and that the broker is up, or raise ConnectTimeout.", e);
        }

        if (options.UsesTls && options.Tls.ClientCertificate is null && !FailedBeforeTcpConnected(e))
        {
            // A broker that requires a client certificate completes the handshake (TLS 1.3 checks the certificate last)
            // and then closes or resets the socket. Depending on timing MQTTnet reports a bare socket error
            // ('Transport endpoint is not connected', 'Connection reset') or 'Connection closed' while reading CONNACK.
            return new MqttConnectException(MqttConnectFailure.Tls, null,
                $"{address} closed the TLS connection before CONNACK. A broker that requires a client certificate (mutual TLS) does this " +
                $"when none is presented: give one with WithClientCertificatePem, WithClientCertificatePfx or certFile=/keyFile= in the address. ({e.GetBaseException().Message})", e);
        }

        if (options.UsesTls && options.Tls.ClientCertificate is { } certificate && !FailedBeforeTcpConnected(e) && ExceptionChain.Find<Wire.MqttProtocolViolation>(e) is null)
        {
            // The broker checked our certificate after the handshake and hung up (or sent an alert such as 'unknown ca').
            return new MqttConnectException(MqttConnectFailure.Tls, null,
                $"{address} closed the TLS connection before CONNACK: it does not accept the client certificate '{certificate.Subject}' issued by '{certificate.Issuer}'. " +
                $"Use a client certificate signed by a CA the broker trusts. ({e.GetBaseException().Message})", e);
        }

        if (ExceptionChain.Find<Wire.MqttProtocolViolation>(e) is { } violation)
        {
            return new MqttConnectException(MqttConnectFailure.ProtocolViolation, violation.ReasonCode, $"Connecting to {address} failed: {violation.Message}", e);
        }

        var root = e;
        while (root.InnerException is not null)
        {
            root = root.InnerException;
        }

        return new MqttConnectException(MqttConnectFailure.Transport, null,
            $"Could not connect to {address}: {root.Message}", e);
    }

    private MqttConnectException Refused(MqttClientConnectResult result)
    {
        var code = (int)result.ResultCode;
        var sentence = MqttReasonText.ForConnect(code);
        var serverSays = string.IsNullOrEmpty(result.ReasonString) ? string.Empty : $" The server said: \"{result.ReasonString}\".";
        var reference = string.IsNullOrEmpty(result.ServerReference) ? null : result.ServerReference;
        var redirect = reference is null ? string.Empty : $" It points to \"{reference}\" (Server Reference): connect there, or set FollowRedirects (followRedirects=1) to follow it.";
        return new MqttConnectException(MqttConnectFailure.Refused, code, $"{options.DisplayAddress} refused the connection: {sentence}.{serverSays}{redirect}")
        {
            ServerReason = result.ReasonString,
            ServerReference = reference,
        };
    }

    private static bool FailedBeforeTcpConnected(Exception e) =>
        ExceptionChain.Find<SocketException>(e) is
        {
            SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostNotFound or SocketError.HostUnreachable
                or SocketError.NetworkUnreachable or SocketError.TimedOut or SocketError.TryAgain or SocketError.NoData
                or SocketError.AddressNotAvailable or SocketError.AccessDenied,
        };

    private static MqttConnectResult ToConnectResult(MqttClientConnectResult r, string clientId, MqttVersion version)
    {
        if (version != MqttVersion.V500)
        {
            // A 3.1/3.1.1 CONNACK carries only the session present flag; MQTTnet leaves the v5 fields at their CLR
            // defaults (maximum QoS 0, retain unavailable...), which would wrongly forbid QoS 1/2 and retain.
            return new MqttConnectResult { IsSessionPresent = r.IsSessionPresent, ClientId = clientId, SubscriptionIdentifiersAvailable = false };
        }

        return ToConnectResultV5(r, clientId);
    }

    private static MqttConnectResult ToConnectResultV5(MqttClientConnectResult r, string clientId) => new()
    {
        IsSessionPresent = r.IsSessionPresent,
        AssignedClientId = string.IsNullOrEmpty(r.AssignedClientIdentifier) ? null : r.AssignedClientIdentifier,
        ClientId = string.IsNullOrEmpty(r.AssignedClientIdentifier) ? clientId : r.AssignedClientIdentifier,
        ServerKeepAlive = r.ServerKeepAlive == 0 ? null : TimeSpan.FromSeconds(r.ServerKeepAlive),
        MaximumQos = (MqttQos)(int)r.MaximumQoS,
        RetainAvailable = r.RetainAvailable,
        MaximumPacketSize = r.MaximumPacketSize is null or 0 ? null : r.MaximumPacketSize,
        ReceiveMaximum = r.ReceiveMaximum is null or 0 ? ushort.MaxValue : r.ReceiveMaximum.Value,
        TopicAliasMaximum = r.TopicAliasMaximum,
        WildcardSubscriptionAvailable = r.WildcardSubscriptionAvailable,
        SharedSubscriptionAvailable = r.SharedSubscriptionAvailable,
        SubscriptionIdentifiersAvailable = r.SubscriptionIdentifiersAvailable,
        SessionExpiryInterval = r.SessionExpiryInterval,
        ResponseInformation = string.IsNullOrEmpty(r.ResponseInformation) ? null : r.ResponseInformation,
        ServerReference = string.IsNullOrEmpty(r.ServerReference) ? null : r.ServerReference,
        ReasonString = string.IsNullOrEmpty(r.ReasonString) ? null : r.ReasonString,
        AuthenticationMethod = string.IsNullOrEmpty(r.AuthenticationMethod) ? null : r.AuthenticationMethod,
        AuthenticationData = r.AuthenticationData ?? ReadOnlyMemory<byte>.Empty,
        UserProperties = MqttnetConversions.ToUserProperties(r.UserProperties),
    };

    private static MqttClientOptions BuildClientOptions(MqttConnectionOptions o, TlsFailure tlsFailure)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithClientId(o.ClientId)
            .WithProtocolVersion(o.ProtocolVersion switch
            {
                MqttVersion.V310 => MQTTnet.Formatter.MqttProtocolVersion.V310,
                MqttVersion.V311 => MQTTnet.Formatter.MqttProtocolVersion.V311,
                _ => MQTTnet.Formatter.MqttProtocolVersion.V500,
            })
            .WithTimeout(o.ConnectTimeout)
            .WithCleanStart(o.CleanStart);

        builder = o.KeepAlive == TimeSpan.Zero ? builder.WithNoKeepAlive() : builder.WithKeepAlivePeriod(o.KeepAlive);

        if (o.UsesWebSocket)
        {
            var host = o.Host.Contains(':', StringComparison.Ordinal) ? "[" + o.Host + "]" : o.Host;
            var uri = $"{(o.UsesTls ? "wss" : "ws")}://{host}:{o.Port}{o.WebSocketPath}";
            builder = builder.WithWebSocketServer(ws => ws.WithUri(uri));
        }
        else
        {
            builder = builder.WithTcpServer(o.Host, o.Port);
        }

        if (o.UserName is not null || o.Password is not null)
        {
            builder = builder.WithCredentials(o.UserName ?? string.Empty, o.Password is null ? null : Encoding.UTF8.GetBytes(o.Password));
        }

        if (o.ProtocolVersion == MqttVersion.V500)
        {
            builder = builder
                .WithSessionExpiryInterval(o.SessionExpiryInterval)
                .WithRequestProblemInformation(o.RequestProblemInformation)
                .WithRequestResponseInformation(o.RequestResponseInformation);
            if (o.ReceiveMaximum is { } receiveMaximum)
            {
                builder = builder.WithReceiveMaximum(receiveMaximum);
            }

            if (o.MaximumPacketSize is { } maximumPacketSize)
            {
                builder = builder.WithMaximumPacketSize(maximumPacketSize);
            }

            if (o.TopicAliasMaximum is { } topicAliasMaximum)
            {
                builder = builder.WithTopicAliasMaximum(topicAliasMaximum);
            }

            foreach (var property in o.UserProperties)
            {
                builder = builder.WithUserProperty(property.Name, Encoding.UTF8.GetBytes(property.Value).AsMemory());
            }

            if (o.AuthenticationMethod is not null)
            {
                builder = builder.WithEnhancedAuthentication(o.AuthenticationMethod, o.AuthenticationData.IsEmpty ? null : o.AuthenticationData.ToArray());
            }
        }

        if (o.Will is { } will)
        {
            builder = AddWill(builder, will, o.ProtocolVersion == MqttVersion.V500);
        }

        if (o.UsesTls)
        {
            builder = builder.WithTlsOptions(tls => ConfigureTls(tls, o, tlsFailure));
        }

        return builder.Build();
    }

    private static MqttClientOptionsBuilder AddWill(MqttClientOptionsBuilder builder, MqttWill will, bool v5)
    {
        builder = builder
            .WithWillTopic(will.Topic)
            .WithWillPayload(will.Payload.ToArray())
            .WithWillQualityOfServiceLevel((MqttQualityOfServiceLevel)(int)will.Qos)
            .WithWillRetain(will.Retain);
        if (!v5)
        {
            return builder;
        }

        var p = will.Properties;
        builder = builder.WithWillDelayInterval(will.DelayInterval);
        if (p.MessageExpiryInterval is { } expiry)
        {
            builder = builder.WithWillMessageExpiryInterval(expiry);
        }

        if (p.ContentType is not null)
        {
            builder = builder.WithWillContentType(p.ContentType);
        }

        if (p.PayloadFormat is { } format)
        {
            builder = builder.WithWillPayloadFormatIndicator((MqttPayloadFormatIndicator)(int)format);
        }

        if (p.ResponseTopic is not null)
        {
            builder = builder.WithWillResponseTopic(p.ResponseTopic);
        }

        if (!p.CorrelationData.IsEmpty)
        {
            builder = builder.WithWillCorrelationData(p.CorrelationData.ToArray());
        }

        foreach (var property in p.UserProperties)
        {
            builder = builder.WithWillUserProperty(property.Name, Encoding.UTF8.GetBytes(property.Value).AsMemory());
        }

        return builder;
    }

    private static void ConfigureTls(MqttClientTlsOptionsBuilder tls, MqttConnectionOptions o, TlsFailure failure)
    {
        var settings = o.Tls;
        tls.UseTls(true).WithTargetHost(settings.TargetHost ?? o.Host);
        if (settings.SslProtocols != SslProtocols.None)
        {
            tls.WithSslProtocols(settings.SslProtocols);
        }

        if (settings.ClientCertificate is not null)
        {
            tls.WithClientCertificates([settings.ClientCertificate]);
        }

        tls.WithCertificateValidationHandler(args =>
        {
            failure.Reason = ServerCertificateValidator.Check(args.Certificate, args.Chain, args.SslPolicyErrors, settings, settings.TargetHost ?? o.Host);
            return failure.Reason is null;
        });
    }


    /// <summary>Carries the reason a certificate was refused out of the TLS validation callback.</summary>
    private sealed class TlsFailure
    {
        public string? Reason { get; set; }
    }
}
