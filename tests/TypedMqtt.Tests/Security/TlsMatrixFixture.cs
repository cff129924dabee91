using System.Globalization;
using System.Text;
using TypedMqtt.Tests.Infrastructure;

namespace TypedMqtt.Tests.Security;

/// <summary>
/// One Mosquitto with a TLS listener per <see cref="ServerCertificateKind"/> and a mutual TLS listener, all with
/// certificates from <see cref="TlsCertificateMatrix"/>.
/// </summary>
public sealed class TlsMatrixFixture : IAsyncLifetime
{
    private static readonly ServerCertificateKind[] Kinds = Enum.GetValues<ServerCertificateKind>();

    private MosquittoBroker? _broker;
    private TlsCertificateMatrix? _certificates;

    public MosquittoBroker Broker => _broker ?? throw new InvalidOperationException(MosquittoBroker.InstallHint);

    public TlsCertificateMatrix Certificates => _certificates ?? throw new InvalidOperationException(MosquittoBroker.InstallHint);

    public int PortOf(ServerCertificateKind kind) => Broker.ExtraPorts[Array.IndexOf(Kinds, kind)];

    /// <summary>Requires a client certificate from the trusted CA; presents the good server certificate.</summary>
    public int MutualTlsPort => Broker.ExtraPorts[Kinds.Length];

    public async Task InitializeAsync()
    {
        if (MosquittoBroker.FindBinary() is null && !MosquittoBroker.IsRequired)
        {
            return;
        }

        var directory = Path.Combine(Path.GetTempPath(), "typedmqtt-tls-matrix-" + Guid.NewGuid().ToString("N")[..12]);
        _certificates = TlsCertificateMatrix.Create(directory);
        var listeners = new List<string>();
        foreach (var kind in Kinds)
        {
            listeners.Add(Listener(kind, requireCertificate: false));
        }

        listeners.Add(Listener(ServerCertificateKind.Good, requireCertificate: true));
        _broker = await MosquittoBroker.StartAsync(new MosquittoSetup { PlainOnly = true, ExtraListeners = listeners });
    }

    public async Task DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }

        if (_certificates is not null)
        {
            try
            {
                Directory.Delete(_certificates.Directory, recursive: true);
            }
            catch (IOException)
            {
                // Left in the temp directory; harmless.
            }
        }
    }

    private string Listener(ServerCertificateKind kind, bool requireCertificate)
    {
        var c = Certificates;
        var config = new StringBuilder();
        config.AppendLine(CultureInfo.InvariantCulture, $"cafile {c.CaFile}");
        config.AppendLine(CultureInfo.InvariantCulture, $"certfile {c.ServerCertificateFile(kind)}");
        config.AppendLine(CultureInfo.InvariantCulture, $"keyfile {c.ServerKeyFile(kind)}");
        config.AppendLine("allow_anonymous true");
        if (requireCertificate)
        {
            config.AppendLine("require_certificate true");
            config.AppendLine("use_identity_as_username true");
        }

        return config.ToString();
    }
}
