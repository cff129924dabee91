using System.Security.Cryptography.X509Certificates;

namespace TypedMqtt;

/// <summary>Loads certificates from PEM and PFX with errors that name the file.</summary>
internal static class CertificateFiles
{
    public static X509Certificate2Collection LoadCaPemFile(string path)
    {
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new ArgumentException($"Could not read the CA file '{path}': {e.Message}", nameof(path), e);
        }

        if (collection.Count == 0)
        {
            throw new ArgumentException($"The CA file '{path}' holds no PEM CERTIFICATE block.", nameof(path));
        }

        return collection;
    }

    public static X509Certificate2 LoadPemFiles(string certificatePath, string keyPath)
    {
        try
        {
            using var ephemeral = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
            return Persist(ephemeral);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new ArgumentException($"Could not load the client certificate '{certificatePath}' with key '{keyPath}': {e.Message}", nameof(certificatePath), e);
        }
    }

    public static X509Certificate2 FromPem(string certificatePem, string keyPem)
    {
        try
        {
            using var ephemeral = X509Certificate2.CreateFromPem(certificatePem, keyPem);
            return Persist(ephemeral);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new ArgumentException($"Could not load the client certificate from PEM: {e.Message}", nameof(certificatePem), e);
        }
    }

    public static X509Certificate2 LoadPfx(string path, string? password)
    {
        try
        {
#if NET9_0_OR_GREATER
            return X509CertificateLoader.LoadPkcs12FromFile(path, password);
#else
            return new X509Certificate2(path, password);
#endif
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new ArgumentException($"Could not load the PFX file '{path}': {e.Message} Check the path and the password.", nameof(path), e);
        }
    }

    // A PEM-loaded key is ephemeral; round-tripping through PKCS#12 gives SslStream a key it can use on every platform.
    private static X509Certificate2 Persist(X509Certificate2 certificate)
    {
        var pfx = certificate.Export(X509ContentType.Pkcs12);
#if NET9_0_OR_GREATER
        return X509CertificateLoader.LoadPkcs12(pfx, null);
#else
        return new X509Certificate2(pfx);
#endif
    }
}
