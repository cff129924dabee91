using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TypedMqtt.Tests.Infrastructure;

/// <summary>The server certificates of the TLS matrix: one good, the others each broken in exactly one way.</summary>
public enum ServerCertificateKind
{
    /// <summary>Issued by the trusted CA for localhost/127.0.0.1, valid now.</summary>
    Good,

    /// <summary>Signed by its own key, not by any CA.</summary>
    SelfSigned,

    /// <summary>Issued by a CA the client was never told about.</summary>
    UnknownCa,

    /// <summary>Issued by a "fake root": same subject name as the trusted CA, another key. The server sends the fake root along.</summary>
    FakeRoot,

    /// <summary>Issued by the trusted CA, expired yesterday.</summary>
    Expired,

    /// <summary>Issued by the trusted CA, valid only from tomorrow.</summary>
    NotYetValid,

    /// <summary>Issued by the trusted CA for another host name (other.example) only.</summary>
    WrongHost,
}

/// <summary>
/// A throw-away PKI for the TLS matrix, made in-process with <see cref="CertificateRequest"/>: a trusted CA, a fake
/// root with the same name, an unknown CA, one server certificate per <see cref="ServerCertificateKind"/>, and client
/// certificates from the trusted and from the unknown CA. Written as PEM files for Mosquitto.
/// </summary>
public sealed class TlsCertificateMatrix
{
    public const string CaName = "CN=TypedMqtt Security Test CA";

    private readonly Dictionary<ServerCertificateKind, (string Certificate, string Key)> _serverFiles = [];

    private TlsCertificateMatrix(string directory)
    {
        Directory = directory;
    }

    public string Directory { get; }

    /// <summary>The trusted CA (PEM): the only trust anchor the tests give the client.</summary>
    public string CaPem { get; private set; } = string.Empty;

    public string CaFile => Path.Combine(Directory, "ca.pem");

    public string ClientCertificatePem { get; private set; } = string.Empty;

    public string ClientKeyPem { get; private set; } = string.Empty;

    /// <summary>A client certificate with the right shape, issued by the unknown CA.</summary>
    public string ForeignClientCertificatePem { get; private set; } = string.Empty;

    public string ForeignClientKeyPem { get; private set; } = string.Empty;

    /// <summary>A self-signed client certificate.</summary>
    public string SelfSignedClientCertificatePem { get; private set; } = string.Empty;

    public string SelfSignedClientKeyPem { get; private set; } = string.Empty;

    public string ServerCertificateFile(ServerCertificateKind kind) => _serverFiles[kind].Certificate;

    public string ServerKeyFile(ServerCertificateKind kind) => _serverFiles[kind].Key;

    public static TlsCertificateMatrix Create(string directory)
    {
        System.IO.Directory.CreateDirectory(directory);
        var result = new TlsCertificateMatrix(directory);
        var now = DateTimeOffset.UtcNow;

        // Authorities live long enough that expired and not-yet-valid leaves still fall inside their validity.
        using var caKey = NewKey();
        using var ca = CreateAuthority(CaName, caKey, now.AddDays(-30), now.AddDays(30));
        using var fakeRootKey = NewKey();
        using var fakeRoot = CreateAuthority(CaName, fakeRootKey, now.AddDays(-30), now.AddDays(30));
        using var unknownKey = NewKey();
        using var unknownCa = CreateAuthority("CN=Unknown Test CA", unknownKey, now.AddDays(-30), now.AddDays(30));

        result.CaPem = ca.ExportCertificatePem();
        File.WriteAllText(result.CaFile, result.CaPem);

        var validFrom = now.AddHours(-1);
        var validTo = now.AddDays(2);
        result.WriteServer(ServerCertificateKind.Good, k => Issue(ca, "localhost", k, validFrom, validTo, ServerAuth, LocalNames(), withAuthorityKeyId: true));
        result.WriteServer(ServerCertificateKind.SelfSigned, k => SelfSignedLeaf("localhost", k, validFrom, validTo, ServerAuth, LocalNames()));
        result.WriteServer(ServerCertificateKind.UnknownCa, k => Issue(unknownCa, "localhost", k, validFrom, validTo, ServerAuth, LocalNames(), withAuthorityKeyId: true));

        // No authority key identifier: only the issuer NAME links this certificate to a root, and that name is the
        // trusted CA's. A validator that matched roots by name would accept it.
        result.WriteServer(ServerCertificateKind.FakeRoot, k => Issue(fakeRoot, "localhost", k, validFrom, validTo, ServerAuth, LocalNames(), withAuthorityKeyId: false), fakeRoot.ExportCertificatePem());
        result.WriteServer(ServerCertificateKind.Expired, k => Issue(ca, "localhost", k, now.AddDays(-10), now.AddDays(-1), ServerAuth, LocalNames(), withAuthorityKeyId: true));
        result.WriteServer(ServerCertificateKind.NotYetValid, k => Issue(ca, "localhost", k, now.AddDays(1), now.AddDays(10), ServerAuth, LocalNames(), withAuthorityKeyId: true));
        result.WriteServer(ServerCertificateKind.WrongHost, k => Issue(ca, "other.example", k, validFrom, validTo, ServerAuth, OtherNames(), withAuthorityKeyId: true));

        (result.ClientCertificatePem, result.ClientKeyPem) = Client(k => Issue(ca, "security-client", k, validFrom, validTo, ClientAuth, null, withAuthorityKeyId: true));
        (result.ForeignClientCertificatePem, result.ForeignClientKeyPem) = Client(k => Issue(unknownCa, "security-client", k, validFrom, validTo, ClientAuth, null, withAuthorityKeyId: true));
        (result.SelfSignedClientCertificatePem, result.SelfSignedClientKeyPem) = Client(k => SelfSignedLeaf("security-client", k, validFrom, validTo, ClientAuth, null));
        return result;
    }

    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    private void WriteServer(ServerCertificateKind kind, Func<ECDsa, X509Certificate2> make, string? chainPem = null)
    {
        using var key = NewKey();
        using var certificate = make(key);
        var name = kind.ToString().ToLowerInvariant();
        var certificateFile = Path.Combine(Directory, $"server-{name}.pem");
        var keyFile = Path.Combine(Directory, $"server-{name}.key");
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem() + "\n" + (chainPem ?? string.Empty));
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        _serverFiles[kind] = (certificateFile, keyFile);
    }

    private static (string Certificate, string Key) Client(Func<ECDsa, X509Certificate2> make)
    {
        using var key = NewKey();
        using var certificate = make(key);
        return (certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    private static ECDsa NewKey() => ECDsa.Create(ECCurve.NamedCurves.nistP256);

    private static X509Extension LocalNames()
    {
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        return names.Build();
    }

    private static X509Extension OtherNames()
    {
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("other.example");
        return names.Build();
    }

    private static X509Certificate2 CreateAuthority(string name, ECDsa key, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        var request = new CertificateRequest(name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(notBefore, notAfter);
    }

    private static CertificateRequest LeafRequest(string commonName, ECDsa key, string usageOid, X509Extension? names)
    {
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usageOid)], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        if (names is not null)
        {
            request.CertificateExtensions.Add(names);
        }

        return request;
    }

    private static X509Certificate2 Issue(X509Certificate2 issuer, string commonName, ECDsa key, DateTimeOffset notBefore, DateTimeOffset notAfter, string usageOid, X509Extension? names, bool withAuthorityKeyId)
    {
        var request = LeafRequest(commonName, key, usageOid, names);
        if (withAuthorityKeyId)
        {
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        }

        return request.Create(issuer, notBefore, notAfter, RandomNumberGenerator.GetBytes(12));
    }

    private static X509Certificate2 SelfSignedLeaf(string commonName, ECDsa key, DateTimeOffset notBefore, DateTimeOffset notAfter, string usageOid, X509Extension? names) =>
        LeafRequest(commonName, key, usageOid, names).CreateSelfSigned(notBefore, notAfter);
}
