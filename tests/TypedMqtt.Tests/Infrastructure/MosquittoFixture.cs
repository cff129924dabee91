namespace TypedMqtt.Tests.Infrastructure;

/// <summary>One Mosquitto with every listener, shared by the tests of the <see cref="MosquittoCollection"/>.</summary>
public sealed class MosquittoFixture : IAsyncLifetime
{
    private MosquittoBroker? _broker;

    public MosquittoBroker Broker => _broker ?? throw new InvalidOperationException(MosquittoBroker.InstallHint);

    public TestCertificates Certificates => Broker.Certificates!;

    public async Task InitializeAsync()
    {
        // Without Mosquitto the tests skip (MosquittoFact), unless CI demands it: then starting fails loudly.
        if (MosquittoBroker.FindBinary() is not null || MosquittoBroker.IsRequired)
        {
            _broker = await MosquittoBroker.StartAsync(MosquittoSetup.AllListeners);
        }
    }

    public async Task DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class MosquittoCollection : ICollectionFixture<MosquittoFixture>
{
    public const string Name = "Mosquitto";
}

/// <summary>A fact that needs Mosquitto: skipped with an install hint when it is missing, unless TYPEDMQTT_REQUIRE_MOSQUITTO=1.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class MosquittoFactAttribute : FactAttribute
{
    public MosquittoFactAttribute()
    {
        if (MosquittoBroker.FindBinary() is null && !MosquittoBroker.IsRequired)
        {
            Skip = MosquittoBroker.InstallHint;
        }
    }

    private bool _linuxOnly;

    /// <summary>Skipped off Linux: what it proves is Linux's (its TCP, e.g. <c>TCP_QUICKACK</c>).</summary>
    public bool LinuxOnly
    {
        get => _linuxOnly;
        set
        {
            _linuxOnly = value;
            if (value && !OperatingSystem.IsLinux())
            {
                Skip = "Linux only.";
            }
        }
    }
}

/// <summary>A theory that needs Mosquitto; see <see cref="MosquittoFactAttribute"/>.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class MosquittoTheoryAttribute : TheoryAttribute
{
    public MosquittoTheoryAttribute()
    {
        if (MosquittoBroker.FindBinary() is null && !MosquittoBroker.IsRequired)
        {
            Skip = MosquittoBroker.InstallHint;
        }
    }
}
