using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;

namespace TypedMqtt;

public sealed partial class MqttConnection
{
    private async Task ConnectOnceAsync(CancellationToken cancellationToken)
    {
        await _connectGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            SetState(MqttConnectionState.Connecting, $"connecting to {Options.DisplayAddress}");
            var tlsFailure = new TlsFailure();
            var cleanStart = _cleanStartNext && !Options.CleanStart;
            var clientOptions = BuildClientOptions(cleanStart ? Options with { CleanStart = true } : Options, tlsFailure);
            if (Options.UsesTls && Options.Tls.DangerousAcceptAnyServerCertificate)
            {
                LogUnsafeTls(_logger, Options.DisplayAddress);
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Options.ConnectTimeout);
            MqttClientConnectResult result;
            OnConnectStarting();
            var client = CreateClient();
            try
            {
                result = await client.ConnectAsync(clientOptions, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not MqttConnectException && !cancellationToken.IsCancellationRequested)
            {
                client.Dispose();
                throw TranslateConnectFailure(e, tlsFailure, timeout.IsCancellationRequested);
            }
            catch
            {
                client.Dispose();
                throw;
            }

            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                client.Dispose();
                throw Refused(result);
            }

            Volatile.Write(ref _connectResult, ToConnectResult(result, Options.ClientId, Options.ProtocolVersion));
            OnConnectAcknowledged(result.IsSessionPresent);
            OnConnected();
            SetState(MqttConnectionState.Connected, result.IsSessionPresent ? "connected, session resumed" : "connected, new session");
            if (cleanStart)
            {
                _cleanStartNext = false;
            }

            OnLinkEstablished(client);
        }
        finally
        {
            _connectGate.Release();
        }
    }

    private MqttConnectException TranslateConnectFailure(Exception e, TlsFailure tls, bool timedOut)
    {
        var address = Options.DisplayAddress;
        if (tls.Reason is not null || Find<AuthenticationException>(e) is not null)
        {
            var why = tls.Reason ?? Find<AuthenticationException>(e)?.Message ?? e.Message;
            return new MqttConnectException(MqttConnectFailure.Tls, null,
                $"TLS handshake with {address} failed: {why}", e);
        }

        if (timedOut || e is OperationCanceledException || Find<MqttCommunicationTimedOutException>(e) is not null)
        {
            return new MqttConnectException(MqttConnectFailure.Timeout, null,
                $"No CONNACK from {address} within the connect timeout of {Options.ConnectTimeout.TotalSeconds:0.###} s. Check the address and that the broker is up, or raise ConnectTimeout.", e);
        }

        if (Options.UsesTls && Options.Tls.ClientCertificate is null && !FailedBeforeTcpConnected(e))
        {
            // A broker that requires a client certificate completes the handshake (TLS 1.3 checks the certificate last)
            // and then closes or resets the socket. Depending on timing MQTTnet reports a bare socket error
            // ('Transport endpoint is not connected', 'Connection reset') or 'Connection closed' while reading CONNACK.
            return new MqttConnectException(MqttConnectFailure.Tls, null,
                $"{address} closed the TLS connection before CONNACK. A broker that requires a client certificate (mutual TLS) does this " +
                $"when none is presented: give one with WithClientCertificatePem, WithClientCertificatePfx or certFile=/keyFile= in the address. ({e.GetBaseException().Message})", e);
        }

        if (Options.UsesTls && Options.Tls.ClientCertificate is { } certificate && !FailedBeforeTcpConnected(e) && Find<Wire.MqttProtocolViolation>(e) is null)
        {
            // The broker checked our certificate after the handshake and hung up (or sent an alert such as 'unknown ca').
            return new MqttConnectException(MqttConnectFailure.Tls, null,
                $"{address} closed the TLS connection before CONNACK: it does not accept the client certificate '{certificate.Subject}' issued by '{certificate.Issuer}'. " +
                $"Use a client certificate signed by a CA the broker trusts. ({e.GetBaseException().Message})", e);
        }

        if (Find<Wire.MqttProtocolViolation>(e) is { } violation)
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
        return new MqttConnectException(MqttConnectFailure.Refused, code, $"{Options.DisplayAddress} refused the connection: {sentence}.{serverSays}")
        {
            ServerReason = result.ReasonString,
        };
    }

    private static bool FailedBeforeTcpConnected(Exception e) =>
        Find<SocketException>(e) is
        {
            SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostNotFound or SocketError.HostUnreachable
                or SocketError.NetworkUnreachable or SocketError.TimedOut or SocketError.TryAgain or SocketError.NoData
                or SocketError.AddressNotAvailable or SocketError.AccessDenied,
        };

    private static T? Find<T>(Exception e)
        where T : Exception
    {
        for (Exception? current = e; current is not null; current = current.InnerException)
        {
            if (current is T match)
            {
                return match;
            }

            if (current is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions)
                {
                    if (Find<T>(inner) is { } found)
                    {
                        return found;
                    }
                }
            }
        }

        return null;
    }

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

    private static void LogUnsafeTls(ILogger logger, string address) => UnsafeTlsLog(logger, address, null);

    private static readonly Action<ILogger, string, Exception?> UnsafeTlsLog =
        LoggerMessage.Define<string>(LogLevel.Warning, new EventId(3, "UnsafeTls"),
            "MQTT {Address}: server certificate validation is OFF (DangerousAcceptAnyServerCertificate). Anyone on the network path can impersonate the broker and read every message and password.");

    /// <summary>Carries the reason a certificate was refused out of MQTTnet's validation callback.</summary>
    private sealed class TlsFailure
    {
        public string? Reason { get; set; }
    }
}

/// <summary>Strict server certificate validation: trusted chain (system store or only the given CAs) and matching host name.</summary>
internal static class ServerCertificateValidator
{
    /// <summary>Returns <see langword="null"/> when the certificate is acceptable, otherwise why not.</summary>
    public static string? Check(X509Certificate? certificate, X509Chain? presentedChain, SslPolicyErrors errors, MqttTlsOptions options, string host)
    {
        if (options.DangerousAcceptAnyServerCertificate)
        {
            return null;
        }

        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return "the server sent no certificate.";
        }

        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            return $"the server certificate ('{certificate.Subject}') is not valid for host '{host}'. Connect by a name the certificate lists, or set TargetHost to one.";
        }

        if (options.TrustedCaCertificates is not { Count: > 0 } trusted)
        {
            return errors == SslPolicyErrors.None
                ? null
                : $"the server certificate ('{certificate.Subject}', issued by '{certificate.Issuer}') does not chain to a CA in the system trust store ({Describe(presentedChain)}). Give the broker's CA with WithCaCertificatePem or caFile=.";
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(trusted);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presentedChain is not null)
        {
            foreach (var element in presentedChain.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf)
            ? null
            : $"the server certificate ('{leaf.Subject}', issued by '{leaf.Issuer}') does not chain to the configured CA ({Describe(chain)}).";
    }

    private static string Describe(X509Chain? chain)
    {
        if (chain is null || chain.ChainStatus.Length == 0)
        {
            return "no chain status";
        }

        return string.Join("; ", chain.ChainStatus.Select(s => s.Status.ToString()).Distinct(StringComparer.Ordinal));
    }
}
