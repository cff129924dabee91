namespace TypedMqtt;

/// <summary>Marks the payload parameter of a publish method when the choice would otherwise be ambiguous.</summary>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false, Inherited = false)]
public sealed class PayloadAttribute : Attribute
{
}
