using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TypedMqtt.Tests.Infrastructure;

/// <summary>
/// A throw-away PKI made in-process: a trusted CA, a server certificate for localhost/127.0.0.1, a client certificate,
/// and a second CA nobody trusts. Written as PEM (for Mosquitto) and PFX (for the PFX client path) into a directory.
/// </summary>
public sealed class TestCertificates
{
    public const string PfxPassword = "pfx-secret";

    private TestCertificates(string directory)
    {
        Directory = directory;
    }

    public string Directory { get; }

    public string CaPem { get; private set; } = string.Empty;

    public string OtherCaPem { get; private set; } = string.Empty;

    public string ClientCertificatePem { get; private set; } = string.Empty;

    public string ClientKeyPem { get; private set; } = string.Empty;

    public string CaFile => Path.Combine(Directory, "ca.pem");

    public string OtherCaFile => Path.Combine(Directory, "other-ca.pem");

    public string ServerCertificateFile => Path.Combine(Directory, "server.pem");

    public string ServerKeyFile => Path.Combine(Directory, "server.key");

    public string ClientCertificateFile => Path.Combine(Directory, "client.pem");

    public string ClientKeyFile => Path.Combine(Directory, "client.key");

    public string ClientPfxFile => Path.Combine(Directory, "client.pfx");

    /// <summary>The common name of the client certificate (Mosquitto uses it as the user name on the mutual TLS listener).</summary>
    public string ClientCommonName => "typedmqtt-test-client";

    public static TestCertificates Create(string directory)
    {
        System.IO.Directory.CreateDirectory(directory);
        var result = new TestCertificates(directory);
        var notBefore = DateTimeOffset.UtcNow.AddHours(-1);
        var notAfter = DateTimeOffset.UtcNow.AddDays(2);

        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = CreateAuthority("TypedMqtt Test CA", caKey, notBefore, notAfter);
        using var otherCaKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var otherCa = CreateAuthority("Somebody Else's CA", otherCaKey, notBefore, notAfter);

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverNames = new SubjectAlternativeNameBuilder();
        serverNames.AddDnsName("localhost");
        serverNames.AddIpAddress(IPAddress.Loopback);
        using var server = Issue(ca, "localhost", serverKey, notBefore, notAfter, "1.3.6.1.5.5.7.3.1", serverNames.Build());

        using var clientKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var client = Issue(ca, result.ClientCommonName, clientKey, notBefore, notAfter, "1.3.6.1.5.5.7.3.2", null);

        result.CaPem = ca.ExportCertificatePem();
        result.OtherCaPem = otherCa.ExportCertificatePem();
        result.ClientCertificatePem = client.ExportCertificatePem();
        result.ClientKeyPem = clientKey.ExportPkcs8PrivateKeyPem();

        File.WriteAllText(result.CaFile, result.CaPem);
        File.WriteAllText(result.OtherCaFile, result.OtherCaPem);
        File.WriteAllText(result.ServerCertificateFile, server.ExportCertificatePem());
        File.WriteAllText(result.ServerKeyFile, serverKey.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(result.ClientCertificateFile, result.ClientCertificatePem);
        File.WriteAllText(result.ClientKeyFile, result.ClientKeyPem);
        using var clientWithKey = client.CopyWithPrivateKey(clientKey);
        File.WriteAllBytes(result.ClientPfxFile, clientWithKey.Export(X509ContentType.Pkcs12, PfxPassword));
        return result;
    }

    private static X509Certificate2 CreateAuthority(string name, ECDsa key, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(notBefore, notAfter);
    }

    private static X509Certificate2 Issue(X509Certificate2 issuer, string commonName, ECDsa key, DateTimeOffset notBefore, DateTimeOffset notAfter, string usageOid, X509Extension? names)
    {
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usageOid)], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        if (names is not null)
        {
            request.CertificateExtensions.Add(names);
        }

        return request.Create(issuer, notBefore, notAfter, RandomNumberGenerator.GetBytes(12));
    }
}
