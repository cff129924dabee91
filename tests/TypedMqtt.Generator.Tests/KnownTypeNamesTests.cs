using System.Reflection;
using System.Text.Json.Serialization;

namespace TypedMqtt.Generator.Tests;

/// <summary>The generator finds runtime types by metadata name; each name must be the real type's full name.</summary>
public sealed class KnownTypeNamesTests
{
    private static readonly Dictionary<string, Type> Expected = new(StringComparer.Ordinal)
    {
        [nameof(KnownTypeNames.MqttContractAttribute)] = typeof(MqttContractAttribute),
        [nameof(KnownTypeNames.MqttFakeAttribute)] = typeof(TypedMqtt.Testing.MqttFakeAttribute),
        [nameof(KnownTypeNames.PublishAttribute)] = typeof(PublishAttribute),
        [nameof(KnownTypeNames.SubscribeAttribute)] = typeof(SubscribeAttribute),
        [nameof(KnownTypeNames.RequestAttribute)] = typeof(RequestAttribute),
        [nameof(KnownTypeNames.WillAttribute)] = typeof(WillAttribute),
        [nameof(KnownTypeNames.UserPropertyAttribute)] = typeof(UserPropertyAttribute),
        [nameof(KnownTypeNames.PayloadAttribute)] = typeof(PayloadAttribute),
        [nameof(KnownTypeNames.MqttMessageContext)] = typeof(MqttMessageContext),
        [nameof(KnownTypeNames.MqttMessageProperties)] = typeof(MqttMessageProperties),
        [nameof(KnownTypeNames.MqttSubscription)] = typeof(MqttSubscription),
        [nameof(KnownTypeNames.MqttPayloadCodecInterface)] = typeof(IMqttPayloadCodec<>),
        [nameof(KnownTypeNames.JsonSerializableAttribute)] = typeof(JsonSerializableAttribute),
        [nameof(KnownTypeNames.CancellationToken)] = typeof(CancellationToken),
        [nameof(KnownTypeNames.Task)] = typeof(Task),
        [nameof(KnownTypeNames.TaskOfT)] = typeof(Task<>),
        [nameof(KnownTypeNames.ValueTask)] = typeof(ValueTask),
        [nameof(KnownTypeNames.ValueTaskOfT)] = typeof(ValueTask<>),
        [nameof(KnownTypeNames.IAsyncDisposable)] = typeof(IAsyncDisposable),
        [nameof(KnownTypeNames.Guid)] = typeof(Guid),
        [nameof(KnownTypeNames.TimeSpan)] = typeof(TimeSpan),
        [nameof(KnownTypeNames.FlagsAttribute)] = typeof(FlagsAttribute),
        [nameof(KnownTypeNames.ReadOnlyMemory)] = typeof(ReadOnlyMemory<>),
    };

    public static TheoryData<string> Constants => new(
        typeof(KnownTypeNames).GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            .Where(f => f.IsLiteral)
            .Select(f => f.Name));

    [Theory]
    [MemberData(nameof(Constants))]
    public void ConstantIsTheFullNameOfItsType(string constant)
    {
        Assert.True(Expected.TryGetValue(constant, out var type), $"KnownTypeNames.{constant} has no expected type in this test; add it.");
        var value = (string)typeof(KnownTypeNames).GetField(constant, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!.GetRawConstantValue()!;
        Assert.Equal(type.FullName, value);
    }
}
