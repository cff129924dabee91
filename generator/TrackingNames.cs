namespace TypedMqtt.Generator;

/// <summary>Names of the pipeline steps, so tests can assert what was cached.</summary>
internal static class TrackingNames
{
    public const string Contracts = nameof(Contracts);
    public const string ContractsWithoutNulls = nameof(ContractsWithoutNulls);
    public const string Diagnostics = nameof(Diagnostics);
    public const string Fakes = nameof(Fakes);
    public const string AsyncApi = nameof(AsyncApi);
}
