using System.Globalization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using TypedMqtt.Generator.AsyncApi;
using TypedMqtt.Generator.Diagnostics;
using TypedMqtt.Generator.Model;
using TypedMqtt.Topics;

namespace TypedMqtt.Generator;

public sealed partial class TypedMqttGenerator
{
    /// <summary>The parser, part three: topic templates, the types a topic level can hold, and payload codecs.</summary>
    internal sealed partial class Parser
    {
        private bool CheckTemplate(TopicTemplate template, Location? location, bool isPublish)
        {
            var valid = true;
            if (template.Duplicate is not null)
            {
                Report(DiagnosticDescriptors.DuplicateTemplateParameter, location, template.Text, template.Duplicate);
                valid = false;
            }

            if (isPublish)
            {
                var (wildcard, error) = template.CheckAsTopicName();
                if (wildcard is not null)
                {
                    Report(DiagnosticDescriptors.PublishTopicHasWildcard, location, template.Text, wildcard.Value.ToString());
                    return false;
                }

                if (error is not null)
                {
                    Report(DiagnosticDescriptors.MalformedTopic, location, template.Text, error);
                    return false;
                }
            }
            else if (template.CheckAsFilter() is { } filterError)
            {
                Report(DiagnosticDescriptors.MalformedTopic, location, template.Text, filterError);
                return false;
            }

            return valid;
        }

        private TopicParameterModel? TopicParameter(TemplateLevel level, ITypeSymbol type, Location? location, TopicTemplate template)
        {
            var levelIndex = template.Levels.IndexOf(level);
            var kind = ClassifyTopicType(type);
            if (kind is null || (level.IsCatchAll && kind != TopicValueKind.String))
            {
                if (type.TypeKind != TypeKind.Error)
                {
                    Report(DiagnosticDescriptors.UnsupportedTopicParameterType, location, level.Parameter!, type.ToDisplayString());
                }

                return null;
            }

            if (kind == TopicValueKind.Enum && type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == KnownTypeNames.FlagsAttribute))
            {
                Report(DiagnosticDescriptors.FlagsEnumTopicParameter, location, level.Parameter!, type.ToDisplayString());
                return null;
            }

            var members = kind == TopicValueKind.Enum ? type.GetMembers().OfType<IFieldSymbol>().Where(f => f.HasConstantValue).Select(f => f.Name).ToEquatableArray() : default;
            return new TopicParameterModel(level.Parameter!, type.ToDisplayString(TypeFormat), kind.Value, levelIndex, level.IsCatchAll, members);
        }

        /// <summary>
        /// A handler whose payload stands among its topic values (one argument cannot be a topic value, the last one can):
        /// the order it should have, else null.
        /// </summary>
        private static string? OutOfOrder(List<ITypeSymbol> arguments, TopicTemplate template)
        {
            var notTopic = arguments.Where(a => ClassifyTopicType(a) is null).ToList();
            if (notTopic.Count != 1 || ClassifyTopicType(arguments[arguments.Count - 1]) is null)
            {
                return null;
            }

            var topicValues = arguments.Where(a => ClassifyTopicType(a) is not null).ToList();
            var names = template.Parameters.Select((p, i) => topicValues[i].ToDisplayString() + " " + p.Parameter);
            return string.Join(", ", names.Concat([notTopic[0].ToDisplayString() + " payload"]));
        }

        private static TopicValueKind? ClassifyTopicType(ITypeSymbol type)
        {
            if (type.NullableAnnotation == NullableAnnotation.Annotated)
            {
                return null;
            }

            switch (type.SpecialType)
            {
                case SpecialType.System_String:
                    return TopicValueKind.String;
                case SpecialType.System_Boolean:
                    return TopicValueKind.Boolean;
                case SpecialType.System_Byte:
                case SpecialType.System_SByte:
                case SpecialType.System_Int16:
                case SpecialType.System_UInt16:
                case SpecialType.System_Int32:
                case SpecialType.System_UInt32:
                case SpecialType.System_Int64:
                case SpecialType.System_UInt64:
                    return TopicValueKind.Parsable;
            }

            if (type.TypeKind == TypeKind.Enum)
            {
                return TopicValueKind.Enum;
            }

            return type.ToDisplayString() == KnownTypeNames.Guid ? TopicValueKind.Parsable : null;
        }

        /// <summary>The codec of a payload type: <paramref name="location"/> is the payload's place, <paramref name="codecLocation"/> the Codec argument's.</summary>
        private PayloadModel? ResolvePayload(ITypeSymbol type, INamedTypeSymbol? codec, Location? location, Location? codecLocation = null)
        {
            var typeName = type.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString(TypeFormat);
            var allowNull = type.NullableAnnotation == NullableAnnotation.Annotated || type.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T;
            if (type.TypeKind == TypeKind.Error)
            {
                return null;
            }

            if (codec is not null)
            {
                var implements = codec.AllInterfaces.Any(i =>
                    i.OriginalDefinition.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) == "global::TypedMqtt.IMqttPayloadCodec<T>" &&
                    SymbolEqualityComparer.Default.Equals(i.TypeArguments[0].WithNullableAnnotation(NullableAnnotation.NotAnnotated), type.WithNullableAnnotation(NullableAnnotation.NotAnnotated)));
                var constructible = !codec.IsAbstract && codec.InstanceConstructors.Any(c => c.Parameters.Length == 0 && c.DeclaredAccessibility is Accessibility.Public or Accessibility.Internal);
                if (!implements || !constructible)
                {
                    Report(DiagnosticDescriptors.InvalidCodec, codecLocation ?? location, codec.Name, type.ToDisplayString(),
                        !implements ? $"it does not implement IMqttPayloadCodec<{type.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString()}>" : "it needs a public or internal parameterless constructor");
                    return null;
                }

                return new PayloadModel(typeName, CodecKind.Custom, codec.ToDisplayString(TypeFormat), null, allowNull, PayloadSchemas.ForCodec(CodecKind.Custom, codec.ToDisplayString()));
            }

            if (type.SpecialType == SpecialType.System_String)
            {
                return new PayloadModel(typeName, CodecKind.Utf8String, null, null, allowNull, PayloadSchemas.ForCodec(CodecKind.Utf8String, null));
            }

            if (type is IArrayTypeSymbol { ElementType.SpecialType: SpecialType.System_Byte, Rank: 1 })
            {
                return new PayloadModel(typeName, CodecKind.ByteArray, null, null, allowNull, PayloadSchemas.ForCodec(CodecKind.ByteArray, null));
            }

            if (type is INamedTypeSymbol named && IsType(named.ConstructedFrom, KnownTypeNames.ReadOnlyMemory) && named.TypeArguments[0].SpecialType == SpecialType.System_Byte)
            {
                return new PayloadModel(typeName, CodecKind.Memory, null, null, false, PayloadSchemas.ForCodec(CodecKind.Memory, null));
            }

            if (_jsonContext is null)
            {
                if (_jsonContextInvalid)
                {
                    return null;
                }

                Report(DiagnosticDescriptors.MissingJsonContext, location, type.ToDisplayString(), _contractName);
                return null;
            }

            var plain = type.WithNullableAnnotation(NullableAnnotation.NotAnnotated);
            if (!_jsonTypes.Any(t => SymbolEqualityComparer.Default.Equals(t.WithNullableAnnotation(NullableAnnotation.NotAnnotated), plain)))
            {
                Report(DiagnosticDescriptors.PayloadTypeNotInJsonContext, location, plain.ToDisplayString(), _jsonContext.Name);
                return null;
            }

            _schemas ??= new PayloadSchemas(JsonContextOptions.Read(_jsonContext));
            return new PayloadModel(plain.ToDisplayString(TypeFormat), CodecKind.Json, null, _jsonContext.ToDisplayString(TypeFormat), allowNull, _schemas.Of(type, allowNull));
        }
    }
}
