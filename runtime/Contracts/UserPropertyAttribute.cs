namespace TypedMqtt;

/// <summary>An MQTT 5 user property sent with every message of a publish operation (or, on a contract, of all its publishes). Repeatable.</summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Interface, AllowMultiple = true, Inherited = false)]
public sealed class UserPropertyAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="name">Property name.</param>
    /// <param name="value">Property value.</param>
    public UserPropertyAttribute(string name, string value)
    {
        Name = name;
        Value = value;
    }

    /// <summary>Property name.</summary>
    public string Name { get; }

    /// <summary>Property value.</summary>
    public string Value { get; }
}
