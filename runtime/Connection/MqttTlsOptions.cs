using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace TypedMqtt;

/// <summary>
/// TLS settings for <c>mqtts://</c> and <c>wss://</c>. The defaults are strict: the server certificate must
/// chain to a trusted root (the system store, or only <see cref="TrustedCaCertificates"/> when given) and must
/// name the host that was dialled.
/// </summary>
public sealed record MqttTlsOptions
{
    /// <summary>Strict defaults: system trust store, hostname checked.</summary>
    public static MqttTlsOptions Default { get; } = new();

    /// <summary>
    /// CA certificates that are the only trust anchors for the server certificate. When set, the system store is
    /// not consulted: a server certificate that does not chain to one of these is refused.
    /// </summary>
    public X509Certificate2Collection? TrustedCaCertificates { get; init; }

    /// <summary>Client certificate (with its private key) presented for mutual TLS.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>Host name sent as SNI and checked against the server certificate; defaults to the address host.</summary>
    public string? TargetHost { get; init; }

    /// <summary>Allowed TLS versions; <see cref="SslProtocols.None"/> lets the operating system choose (TLS 1.2 and 1.3).</summary>
    public SslProtocols SslProtocols { get; init; } = SslProtocols.None;

    /// <summary>
    /// Accepts any server certificate, including one for another host or signed by anybody. This removes the protection
    /// TLS gives against a man in the middle; a warning is logged on every connect. Use only against a test broker.
    /// </summary>
    public bool DangerousAcceptAnyServerCertificate { get; init; }
}
