using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace TypedMqtt;

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
