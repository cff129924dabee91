using Microsoft.CodeAnalysis;

namespace TypedMqtt.Generator.AsyncApi;

/// <summary>
/// The parts of a JsonSerializerContext's <c>[JsonSourceGenerationOptions]</c> that change what goes on the wire, and so
/// the payload schemas: property naming, enums as strings, ignore conditions, fields and number handling.
/// </summary>
internal sealed record JsonContextOptions(
    NamingPolicy Naming,
    bool EnumsAsStrings,
    IgnoreCondition DefaultIgnore,
    bool IgnoreReadOnlyProperties,
    bool IgnoreReadOnlyFields,
    bool IncludeFields,
    NumberHandling Numbers)
{
    public static readonly JsonContextOptions Default = new(NamingPolicy.None, false, IgnoreCondition.Never, false, false, false, NumberHandling.Strict);

    /// <summary>Reads the options from the context's attribute; a context without one serializes with the defaults.</summary>
    public static JsonContextOptions Read(INamedTypeSymbol context)
    {
        var attribute = context.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == "System.Text.Json.Serialization.JsonSourceGenerationOptionsAttribute");
        if (attribute is null)
        {
            return Default;
        }

        // JsonSerializerDefaults.Web (1): camelCase names, numbers also read from strings.
        var web = attribute.ConstructorArguments.Length == 1 && attribute.ConstructorArguments[0].Value is int defaults && defaults == 1;
        var options = web ? Default with { Naming = NamingPolicy.CamelCase, Numbers = NumberHandling.AllowReadingFromString } : Default;
        foreach (var argument in attribute.NamedArguments)
        {
            var value = argument.Value.Value;
            options = argument.Key switch
            {
                "PropertyNamingPolicy" when value is int naming => options with { Naming = (NamingPolicy)naming },
                "UseStringEnumConverter" when value is bool strings => options with { EnumsAsStrings = strings },
                "DefaultIgnoreCondition" when value is int ignore => options with { DefaultIgnore = (IgnoreCondition)ignore },
                "IgnoreReadOnlyProperties" when value is bool ignore => options with { IgnoreReadOnlyProperties = ignore },
                "IgnoreReadOnlyFields" when value is bool ignore => options with { IgnoreReadOnlyFields = ignore },
                "IncludeFields" when value is bool include => options with { IncludeFields = include },
                "NumberHandling" when value is int numbers => options with { Numbers = (NumberHandling)numbers },
                _ => options,
            };
        }

        return options;
    }
}

/// <summary>System.Text.Json's JsonKnownNamingPolicy, by value.</summary>
internal enum NamingPolicy
{
    None = 0,
    CamelCase = 1,
    SnakeCaseLower = 2,
    SnakeCaseUpper = 3,
    KebabCaseLower = 4,
    KebabCaseUpper = 5,
}

/// <summary>System.Text.Json's JsonIgnoreCondition, by value.</summary>
internal enum IgnoreCondition
{
    Never = 0,
    Always = 1,
    WhenWritingDefault = 2,
    WhenWritingNull = 3,
}

/// <summary>System.Text.Json's JsonNumberHandling flags, by value.</summary>
[Flags]
internal enum NumberHandling
{
    Strict = 0,
    AllowReadingFromString = 1,
    WriteAsString = 2,
    AllowNamedFloatingPointLiterals = 4,
}
