using System.Xml.Linq;
using Microsoft.CodeAnalysis;
using TypedMqtt.Generator.Model;

namespace TypedMqtt.Generator.AsyncApi;

/// <summary>
/// JSON Schemas of payload types, as System.Text.Json writes them under one context's options: member names after the
/// naming policy and [JsonPropertyName], [JsonIgnore] and ignore conditions, enums as numbers or names, collections,
/// dictionaries, polymorphic types ([JsonDerivedType]) and the formats of dates, GUIDs and the like. Objects become named
/// definitions (so recursive types work), referenced as <c>#/components/schemas/{key}</c>.
/// </summary>
/// <remarks>
/// <c>required</c> lists the members TypedMqtt always writes (all but those an ignore condition may leave out), so the
/// schema holds every message our publishers send. A member with a custom [JsonConverter] is described as any value.
/// </remarks>
internal sealed class PayloadSchemas
{
    private const string JsonAttributes = "System.Text.Json.Serialization.";

    private static readonly SymbolDisplayFormat KeyFormat = new(
        typeQualificationStyle: SymbolDisplayTypeQualificationStyle.NameAndContainingTypesAndNamespaces,
        genericsOptions: SymbolDisplayGenericsOptions.IncludeTypeParameters,
        miscellaneousOptions: SymbolDisplayMiscellaneousOptions.UseSpecialTypes);

    private readonly JsonContextOptions _options;
    private readonly Dictionary<string, string?> _definitions = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    public PayloadSchemas(JsonContextOptions options) => _options = options;

    /// <summary>The object definitions made so far, in the order they were first met.</summary>
    public IEnumerable<SchemaDefinition> Definitions => _order.Select(key => new SchemaDefinition(key, _definitions[key] ?? "{}"));

    /// <summary>The schema of a payload type; <paramref name="allowNull"/> as the payload model says (a typeof() has no annotation).</summary>
    public string Of(ITypeSymbol type, bool allowNull)
    {
        if (type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } wrapper)
        {
            type = wrapper.TypeArguments[0];
        }

        return Core(type, member: null).ToJson(allowNull);
    }

    /// <summary>The schema of a payload that is not JSON: text, bytes, or a custom codec's output.</summary>
    public static string ForCodec(CodecKind codec, string? codecType) => codec switch
    {
        CodecKind.Utf8String => Json.Object(("type", Json.String("string"))),
        CodecKind.ByteArray or CodecKind.Memory => Json.Object(("type", Json.String("string")), ("format", Json.String("binary"))),
        _ => Json.Object(("description", Json.String($"Encoded by the custom codec {codecType?.Replace("global::", string.Empty)}."))),
    };

    private string Render(ITypeSymbol type, ISymbol? member)
    {
        var nullable = CanBeNull(type);
        if (type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } wrapper)
        {
            type = wrapper.TypeArguments[0];
        }

        return Core(type, member).ToJson(nullable);
    }

    private Schema Core(ITypeSymbol type, ISymbol? member)
    {
        if ((ConverterOf(member) ?? ConverterOf(type)) is { } converter)
        {
            return converter.Name.StartsWith("JsonStringEnumConverter", StringComparison.Ordinal) && type.TypeKind == TypeKind.Enum
                ? EnumSchema((INamedTypeSymbol)type, asStrings: true)
                : Schema.Any($"Written by the converter {converter.ToDisplayString()}.");
        }

        var numbers = NumberHandlingOf(member) ?? NumberHandlingOf(type) ?? _options.Numbers;
        switch (type.SpecialType)
        {
            case SpecialType.System_Boolean:
                return Schema.Of("boolean");
            case SpecialType.System_String:
                return Schema.Of("string");
            case SpecialType.System_Char:
                return Schema.Of("string", ("minLength", "1"), ("maxLength", "1"));
            case SpecialType.System_SByte:
                return Integer(sbyte.MinValue, sbyte.MaxValue, numbers);
            case SpecialType.System_Byte:
                return Integer(byte.MinValue, byte.MaxValue, numbers);
            case SpecialType.System_Int16:
                return Integer(short.MinValue, short.MaxValue, numbers);
            case SpecialType.System_UInt16:
                return Integer(ushort.MinValue, ushort.MaxValue, numbers);
            case SpecialType.System_Int32:
                return Integer(int.MinValue, int.MaxValue, numbers);
            case SpecialType.System_UInt32:
                return Integer(uint.MinValue, uint.MaxValue, numbers);
            case SpecialType.System_Int64:
                return Integer(long.MinValue, long.MaxValue, numbers);
            case SpecialType.System_UInt64:
                return Schema.Numeric("integer", numbers, ("minimum", "0"), ("maximum", Json.Number(ulong.MaxValue)));
            case SpecialType.System_Single:
            case SpecialType.System_Double:
            case SpecialType.System_Decimal:
                return Schema.Numeric("number", numbers);
            case SpecialType.System_Object:
                return Schema.Any(null);
            case SpecialType.System_DateTime:
                return Schema.Of("string", ("description", Json.String("A date and time in ISO 8601 form (with an offset when the value has one).")));
        }

        switch (MetadataName(type.OriginalDefinition))
        {
            case "System.DateTimeOffset":
                return Schema.Of("string", ("format", Json.String("date-time")));
            case "System.DateOnly":
                return Schema.Of("string", ("format", Json.String("date")));
            case "System.TimeOnly":
                return Schema.Of("string", ("pattern", Json.String(@"^\d{2}:\d{2}:\d{2}(\.\d{1,7})?$")));
            case "System.TimeSpan":
                return Schema.Of("string", ("pattern", Json.String(@"^-?(\d+\.)?\d{2}:\d{2}:\d{2}(\.\d{1,7})?$")));
            case "System.Guid":
                return Schema.Of("string", ("format", Json.String("uuid")));
            case "System.Uri":
                return Schema.Of("string", ("format", Json.String("uri-reference")));
            case "System.Version":
                return Schema.Of("string", ("pattern", Json.String(@"^\d+(\.\d+){1,3}$")));
            case "System.Half":
                return Schema.Numeric("number", numbers);
            case "System.Int128":
            case "System.UInt128":
                return Schema.Numeric("integer", numbers);
            case "System.Text.Json.Nodes.JsonObject":
                return Schema.Of("object");
            case "System.Text.Json.Nodes.JsonArray":
                return Schema.Of("array");
            case "System.Text.Json.JsonElement":
            case "System.Text.Json.JsonDocument":
            case "System.Text.Json.Nodes.JsonNode":
            case "System.Text.Json.Nodes.JsonValue":
                return Schema.Any(null);
            case "System.Memory`1":
            case "System.ReadOnlyMemory`1":
                var element = ((INamedTypeSymbol)type).TypeArguments[0];
                return element.SpecialType == SpecialType.System_Byte ? Base64() : Schema.Of("array", ("items", Render(element, null)));
        }

        if (type.TypeKind == TypeKind.Enum)
        {
            return EnumSchema((INamedTypeSymbol)type, _options.EnumsAsStrings);
        }

        if (type is IArrayTypeSymbol array)
        {
            return array.ElementType.SpecialType == SpecialType.System_Byte && array.Rank == 1 ? Base64() : Schema.Of("array", ("items", Render(array.ElementType, null)));
        }

        if (Generic(type, "System.Collections.Generic.IDictionary`2", "System.Collections.Generic.IReadOnlyDictionary`2") is { } dictionary)
        {
            return Schema.Of("object", ("additionalProperties", Render(dictionary.TypeArguments[1], null)));
        }

        if (Generic(type, "System.Collections.Generic.IEnumerable`1") is { } sequence)
        {
            return Schema.Of("array", ("items", Render(sequence.TypeArguments[0], null)));
        }

        return type is INamedTypeSymbol named && type.TypeKind is TypeKind.Class or TypeKind.Struct or TypeKind.Interface
            ? Definition(named)
            : Schema.Any(null);
    }

    private static Schema Integer(long min, long max, NumberHandling numbers) =>
        Schema.Numeric("integer", numbers, ("minimum", Json.Number(min)), ("maximum", Json.Number(max)));

    private static Schema Base64() => Schema.Of("string", ("contentEncoding", Json.String("base64")));

    private Schema EnumSchema(INamedTypeSymbol type, bool asStrings)
    {
        var fields = type.GetMembers().OfType<IFieldSymbol>().Where(f => f.HasConstantValue).ToList();
        var flags = type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == KnownTypeNames.FlagsAttribute);
        if (asStrings)
        {
            return flags
                ? Schema.Of("string", ("description", Json.String($"Member names of {type.Name}, separated by ', '.")))
                : Schema.Of("string") with { Enum = fields.Select(f => Json.String(StringArgument(f, "JsonStringEnumMemberNameAttribute") ?? f.Name)).Distinct().ToList() };
        }

        return flags
            ? Schema.Of("integer", ("description", Json.String($"A combination of {type.Name} flags.")))
            : Schema.Of("integer") with { Enum = fields.Select(f => Convert.ToString(f.ConstantValue, System.Globalization.CultureInfo.InvariantCulture)!).Distinct().ToList() };
    }

    /// <summary>An object type: a named definition, made once; a recursive type refers to itself.</summary>
    private Schema Definition(INamedTypeSymbol type)
    {
        var key = Key(type);
        var reference = Schema.Reference("#/components/schemas/" + key);
        if (_definitions.ContainsKey(key))
        {
            return reference;
        }

        _definitions[key] = null;
        _order.Add(key);
        var polymorphic = type.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == JsonAttributes + "JsonPolymorphicAttribute");
        var discriminatorName = polymorphic?.NamedArguments.FirstOrDefault(a => a.Key == "TypeDiscriminatorPropertyName").Value.Value as string ?? "$type";
        var derived = type.GetAttributes()
            .Where(a => a.AttributeClass?.ToDisplayString() == JsonAttributes + "JsonDerivedTypeAttribute" && a.ConstructorArguments.Length > 0 && a.ConstructorArguments[0].Value is INamedTypeSymbol)
            .Select(a => (Type: (INamedTypeSymbol)a.ConstructorArguments[0].Value!, Discriminator: a.ConstructorArguments.Length > 1 ? a.ConstructorArguments[1].Value : null))
            .ToList();
        if (derived.Count == 0)
        {
            _definitions[key] = ObjectSchema(type, null);
            return reference;
        }

        var variants = derived.Select(d => ObjectSchema(d.Type, d.Discriminator is null ? null : (discriminatorName, d.Discriminator is string text ? Json.String(text) : Convert.ToString(d.Discriminator, System.Globalization.CultureInfo.InvariantCulture)!)));
        if (!type.IsAbstract && type.TypeKind != TypeKind.Interface && derived.All(d => !SymbolEqualityComparer.Default.Equals(d.Type, type)))
        {
            variants = variants.Concat([ObjectSchema(type, null)]);
        }

        _definitions[key] = Json.Object(("title", Json.String(type.Name)), ("description", Json.StringOrNull(Documentation.Summary(type))), ("anyOf", Json.Array(variants.ToList())));
        return reference;
    }

    private string ObjectSchema(INamedTypeSymbol type, (string Name, string Value)? discriminator)
    {
        var properties = new List<(string Name, string? Value)>();
        var required = new List<string>();
        if (discriminator is { } tag)
        {
            properties.Add((tag.Name, Json.Object(("const", tag.Value))));
            required.Add(Json.String(tag.Name));
        }

        foreach (var (member, memberType) in Members(type))
        {
            var ignore = IgnoreConditionOf(member) ?? _options.DefaultIgnore;
            var name = StringArgument(member, "JsonPropertyNameAttribute") ?? JsonNames.Apply(_options.Naming, member.Name);
            var schema = Render(memberType, member);
            var description = Documentation.Summary(member) ?? Documentation.Parameter(type, member.Name);
            if (description is not null)
            {
                schema = schema == "{}" ? Json.Object(("description", Json.String(description))) : schema.Insert(1, Json.String("description") + ":" + Json.String(description) + ",");
            }

            properties.Add((name, schema));
            var alwaysWritten = ignore switch
            {
                IgnoreCondition.WhenWritingDefault => false,
                IgnoreCondition.WhenWritingNull => !CanBeNull(memberType),
                _ => true,
            };
            if (alwaysWritten || HasAttribute(member, "JsonRequiredAttribute") || member is IPropertySymbol { IsRequired: true } or IFieldSymbol { IsRequired: true })
            {
                required.Add(Json.String(name));
            }
        }

        return Json.Object(
            ("type", Json.String("object")),
            ("title", Json.String(type.Name)),
            ("description", Json.StringOrNull(Documentation.Summary(type))),
            ("properties", Json.Object(properties)),
            ("required", required.Count == 0 ? null : Json.Array(required)));
    }

    /// <summary>The members System.Text.Json writes, most derived first: public properties, fields when included, and [JsonInclude].</summary>
    private IEnumerable<(ISymbol Member, ITypeSymbol Type)> Members(INamedTypeSymbol type)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var types = type.TypeKind == TypeKind.Interface ? [type, .. type.AllInterfaces] : Hierarchy(type);
        foreach (var declaring in types)
        {
            foreach (var member in declaring.GetMembers())
            {
                if (member.IsStatic || member.IsImplicitlyDeclared && member is IFieldSymbol || !seen.Add(member.Name))
                {
                    continue;
                }

                var included = HasAttribute(member, "JsonIncludeAttribute");
                var memberType = member switch
                {
                    IPropertySymbol { IsIndexer: false } property when included || (property.DeclaredAccessibility == Accessibility.Public && property.GetMethod?.DeclaredAccessibility == Accessibility.Public)
                        => _options.IgnoreReadOnlyProperties && property.SetMethod is null && !included ? null : property.Type,
                    IFieldSymbol { IsConst: false } field when included || (_options.IncludeFields && field.DeclaredAccessibility == Accessibility.Public)
                        => _options.IgnoreReadOnlyFields && field.IsReadOnly && !included ? null : field.Type,
                    _ => null,
                };
                if (memberType is null || HasAttribute(member, "JsonExtensionDataAttribute") || IgnoreConditionOf(member) == IgnoreCondition.Always)
                {
                    continue;
                }

                yield return (member, memberType);
            }
        }
    }

    private static IEnumerable<INamedTypeSymbol> Hierarchy(INamedTypeSymbol type)
    {
        for (var current = type; current is not null && current.SpecialType is not (SpecialType.System_Object or SpecialType.System_ValueType); current = current.BaseType)
        {
            yield return current;
        }
    }

    private static IgnoreCondition? IgnoreConditionOf(ISymbol member)
    {
        var attribute = Attribute(member, "JsonIgnoreAttribute");
        return attribute is null ? null
            : attribute.NamedArguments.FirstOrDefault(a => a.Key == "Condition").Value.Value is int condition ? (IgnoreCondition)condition
            : IgnoreCondition.Always;
    }

    private static NumberHandling? NumberHandlingOf(ISymbol? symbol) => Argument(symbol, "JsonNumberHandlingAttribute") is int handling ? (NumberHandling)handling : null;

    private static INamedTypeSymbol? ConverterOf(ISymbol? symbol) => Argument(symbol, "JsonConverterAttribute") as INamedTypeSymbol;

    private static string? StringArgument(ISymbol symbol, string attribute) => Argument(symbol, attribute) as string;

    /// <summary>The one constructor argument of a System.Text.Json attribute on the symbol.</summary>
    private static object? Argument(ISymbol? symbol, string attribute) =>
        symbol is not null && Attribute(symbol, attribute) is { ConstructorArguments.Length: 1 } found ? found.ConstructorArguments[0].Value : null;

    private static bool HasAttribute(ISymbol symbol, string name) => Attribute(symbol, name) is not null;

    private static AttributeData? Attribute(ISymbol symbol, string name) =>
        symbol.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == JsonAttributes + name);

    private static bool CanBeNull(ITypeSymbol type) =>
        type.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T || (type.IsReferenceType && type.NullableAnnotation != NullableAnnotation.NotAnnotated);

    private static INamedTypeSymbol? Generic(ITypeSymbol type, params string[] definitions)
    {
        var candidates = type.TypeKind == TypeKind.Interface && type is INamedTypeSymbol self ? [self, .. type.AllInterfaces] : type.AllInterfaces.ToArray();
        return candidates.FirstOrDefault(i => definitions.Contains(MetadataName(i.OriginalDefinition)));
    }

    private static string MetadataName(ITypeSymbol type) =>
        type.ContainingNamespace is { IsGlobalNamespace: false } ns ? ns.ToDisplayString() + "." + type.MetadataName : type.MetadataName;

    /// <summary>A definition's key: the type's full name, in the characters a components key may hold.</summary>
    private static string Key(INamedTypeSymbol type) =>
        new string(type.ToDisplayString(KeyFormat).Select(c => char.IsLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_').ToArray()).TrimEnd('_');

    /// <summary>A schema under construction: its JSON type(s), other keywords, allowed values, or a reference.</summary>
    private sealed record Schema(IReadOnlyList<string> Types, IReadOnlyList<(string Name, string Value)> Keywords)
    {
        public List<string>? Enum { get; init; }

        public string? Ref { get; init; }

        public static Schema Of(string type, params (string, string)[] keywords) => new([type], keywords);

        public static Schema Numeric(string type, NumberHandling handling, params (string, string)[] keywords) =>
            new((handling & (NumberHandling.AllowReadingFromString | NumberHandling.WriteAsString)) != 0 ? [type, "string"] : [type], keywords);

        public static Schema Any(string? description) => new([], description is null ? [] : [("description", Json.String(description))]);

        public static Schema Reference(string target) => new([], []) { Ref = target };

        public string ToJson(bool nullable)
        {
            if (Ref is not null)
            {
                var reference = Json.Object(("$ref", Json.String(Ref)));
                return nullable ? Json.Object(("anyOf", Json.Array([reference, Json.Object(("type", Json.String("null")))]))) : reference;
            }

            if (Types.Count == 0)
            {
                return Json.Object(Keywords.Select(k => (k.Name, (string?)k.Value)));
            }

            var types = nullable ? [.. Types, "null"] : Types;
            var members = new List<(string Name, string? Value)>
            {
                ("type", types.Count == 1 ? Json.String(types[0]) : Json.Array(types.Select(Json.String))),
            };
            members.AddRange(Keywords.Select(k => (k.Name, (string?)k.Value)));
            members.Add(("enum", Enum is null ? null : Json.Array(nullable ? [.. Enum, "null"] : Enum)));
            return Json.Object(members);
        }
    }
}

/// <summary>Summaries from XML documentation comments, when the compilation keeps them.</summary>
internal static class Documentation
{
    public static string? Summary(ISymbol symbol) => Read(symbol, "summary", null);

    /// <summary>A positional record's property is documented as a parameter of the record.</summary>
    public static string? Parameter(ISymbol type, string name) => Read(type, "param", name);

    private static string? Read(ISymbol symbol, string element, string? name)
    {
        var xml = symbol.GetDocumentationCommentXml();
        if (string.IsNullOrWhiteSpace(xml))
        {
            return null;
        }

        try
        {
            var node = XElement.Parse(xml).Elements(element).FirstOrDefault(e => name is null || (string?)e.Attribute("name") == name);
            if (node is null)
            {
                return null;
            }

            var text = string.Concat(node.Nodes().Select(n => n is XElement { Name.LocalName: "see" or "paramref" or "typeparamref" } reference
                ? ((string?)reference.Attribute("cref") ?? (string?)reference.Attribute("name") ?? (string?)reference.Attribute("langword") ?? string.Empty).Split(':').Last()
                : n is XElement inner ? inner.Value : n.ToString()));
            var words = string.Join(" ", text.Split([' ', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries));
            return words.Length == 0 ? null : System.Net.WebUtility.HtmlDecode(words);
        }
        catch (System.Xml.XmlException)
        {
            return null;
        }
    }
}
