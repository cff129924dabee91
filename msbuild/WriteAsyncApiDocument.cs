using System;
using System.IO;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace TypedMqtt.MSBuild;

/// <summary>
/// Reads the constant <c>TypedMqtt.Generated.AsyncApiDocument.Json</c> from a compiled assembly's metadata (the assembly
/// is never loaded) and writes it to <see cref="DocumentPath"/>; an assembly without contracts has none, and any earlier
/// file is removed. The file is rewritten only when its text changes.
/// </summary>
public sealed class WriteAsyncApiDocument : Task
{
    /// <summary>The compiled assembly.</summary>
    [Required]
    public string AssemblyPath { get; set; } = string.Empty;

    /// <summary>Where the document goes.</summary>
    [Required]
    public string DocumentPath { get; set; } = string.Empty;

    /// <inheritdoc/>
    public override bool Execute()
    {
        try
        {
            var document = Read(AssemblyPath);
            if (document is null)
            {
                File.Delete(DocumentPath);
                return true;
            }

            if (!File.Exists(DocumentPath) || File.ReadAllText(DocumentPath) != document)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(DocumentPath))!);
                File.WriteAllText(DocumentPath, document);
            }

            Log.LogMessage(MessageImportance.Low, "TypedMqtt: AsyncAPI document {0}", DocumentPath);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or BadImageFormatException)
        {
            Log.LogWarning(null, "TMQB001", null, AssemblyPath, 0, 0, 0, 0,
                "TypedMqtt could not write the AsyncAPI document to '{0}': {1} Set TypedMqttAsyncApi to false to skip it.", DocumentPath, e.Message);
            return true;
        }
    }

    private static string? Read(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        foreach (var handle in metadata.TypeDefinitions)
        {
            var type = metadata.GetTypeDefinition(handle);
            if (!metadata.StringComparer.Equals(type.Namespace, "TypedMqtt.Generated") || !metadata.StringComparer.Equals(type.Name, "AsyncApiDocument"))
            {
                continue;
            }

            foreach (var fieldHandle in type.GetFields())
            {
                var field = metadata.GetFieldDefinition(fieldHandle);
                var constant = field.GetDefaultValue();
                if (metadata.StringComparer.Equals(field.Name, "Json") && !constant.IsNil)
                {
                    var blob = metadata.GetBlobReader(metadata.GetConstant(constant).Value);
                    return blob.ReadUTF16(blob.Length);
                }
            }
        }

        return null;
    }
}
