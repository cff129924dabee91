using System.Security.Cryptography;

namespace TypedMqtt;

/// <summary>Generates client ids that every broker accepts: 23 characters from 0-9a-z.</summary>
internal static class ClientIdGenerator
{
    private const string Alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
    private const string Prefix = "tmq";

    public static string NewClientId() =>
        Prefix + RandomNumberGenerator.GetString(Alphabet, MqttConnectionOptions.PortableClientIdBytes - Prefix.Length);
}
