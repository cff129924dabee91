using System.Text;
using TypedMqtt.Tests.Infrastructure;
using static TypedMqtt.Tests.Infrastructure.Wire;

namespace TypedMqtt.Tests.Security;

/// <summary>What a client must do with one hostile sequence.</summary>
public enum Expect
{
    /// <summary>Sent before CONNACK: ConnectAsync throws <see cref="MqttConnectException"/>.</summary>
    ConnectFails,

    /// <summary>The connection is closed, StateChanged says why, and the reconnect policy brings it back.</summary>
    Dropped,

    /// <summary>A bad PUBLISH: it never reaches a handler, and the client reports it (MessageFailed or a reported drop).</summary>
    Rejected,

    /// <summary>A bad answer to our SUBSCRIBE: the call fails (or the connection drops, reported) instead of succeeding.</summary>
    SubscribeFails,

    /// <summary>A stray acknowledgement: ignored or answered as the spec allows; the connection keeps working.</summary>
    Survives,
}

/// <summary>One row of the malformed-traffic table.</summary>
/// <param name="Name">Unique, used as the theory argument.</param>
/// <param name="Version">The protocol the client speaks.</param>
/// <param name="Expect">The required outcome.</param>
/// <param name="Script">What the fake broker does after reading CONNECT.</param>
/// <param name="Spec">Why this is malformed, with the MQTT section.</param>
public sealed record MalformedScenario(string Name, MqttVersion Version, Expect Expect, Func<ScriptedSession, Task> Script, string Spec)
{
    public bool V5 => Version == MqttVersion.V500;

    /// <summary>The broker streams without end: the row also checks memory, so it runs where no other test allocates.</summary>
    public bool Streams => Name.Contains("endless", StringComparison.Ordinal);

    public override string ToString() => Name;
}

/// <summary>The table: at least 40 hostile sequences, MQTT 5 and 3.1.1.</summary>
public static class MalformedScenarios
{
    /// <summary>The client's MaximumPacketSize in these tests (MQTT 5).</summary>
    public const int OurMaximumPacketSize = 4096;

    /// <summary>The client's TopicAliasMaximum in these tests (MQTT 5).</summary>
    public const int OurTopicAliasMaximum = 5;

    public const string SubscribedFilter = "#";

    private static readonly MqttVersion V5 = MqttVersion.V500;
    private static readonly MqttVersion V3 = MqttVersion.V311;

    /// <summary>Bytes streamed by the endless-stream rows (bounded so a client that keeps reading does not run forever).</summary>
    public const long StreamLimit = 512L * 1024 * 1024;

    public static readonly TimeSpan StreamDuration = TimeSpan.FromSeconds(3);

    private static readonly Lazy<IReadOnlyList<MalformedScenario>> Table = new(Build);

    public static IReadOnlyList<MalformedScenario> All => Table.Value;

    public static MalformedScenario Get(string name) => All.Single(s => s.Name == name);

    // Before CONNACK: the script sends instead of (or around) CONNACK.
    private static MalformedScenario Pre(string name, MqttVersion version, string spec, params byte[][] sends) =>
        new(name, version, Expect.ConnectFails, async s =>
        {
            foreach (var bytes in sends)
            {
                await s.SendAsync(bytes);
            }
        }, spec);

    private static MalformedScenario PreThenClose(string name, MqttVersion version, string spec, byte[] bytes) =>
        new(name, version, Expect.ConnectFails, async s =>
        {
            await s.SendAsync(bytes);
            s.Close();
        }, spec);

    // After a good CONNACK and our SUBSCRIBE to '#' (answered), the script sends the sequence.
    private static MalformedScenario Post(string name, MqttVersion version, Expect expect, string spec, params byte[][] sends) =>
        new(name, version, expect, async s =>
        {
            await s.ConnackAsync();
            await s.WaitForAsync(8);
            foreach (var bytes in sends)
            {
                await s.SendAsync(bytes);
            }
        }, spec);

    private static MalformedScenario PostThen(string name, MqttVersion version, Expect expect, string spec, Func<ScriptedSession, Task> then) =>
        new(name, version, expect, async s =>
        {
            await s.ConnackAsync();
            await s.WaitForAsync(8);
            await then(s);
        }, spec);

    // Our SUBSCRIBE is answered by the script instead of the routine SUBACK.
    private static MalformedScenario OnSubscribe(string name, MqttVersion version, string spec, Func<RawPacket, byte[][]> answer) =>
        new(name, version, Expect.SubscribeFails, async s =>
        {
            s.AnswerSubscribe = false;
            await s.ConnackAsync();
            var subscribe = await s.WaitForAsync(8);
            foreach (var bytes in answer(subscribe))
            {
                await s.SendAsync(bytes);
            }
        }, spec);

    private static byte[] Topic(string topic) => Str(topic);

    private static byte[] Bytes(string text) => Encoding.ASCII.GetBytes(text);

    private static byte[] Repeat(byte value, int count) => Enumerable.Repeat(value, count).ToArray();

    private static IReadOnlyList<MalformedScenario> Build()
    {
        var list = new List<MalformedScenario>
        {
            // ---------------- MQTT 5, before CONNACK ----------------
            Pre("v5 text instead of CONNACK", V5, "not an MQTT packet (2.1.2: type 4 with reserved flags 8)", Bytes("HTTP/1.1 400 Bad Request\r\n\r\n")),
            Pre("v5 0xFF garbage instead of CONNACK", V5, "type 15 AUTH with reserved flags set, 5-byte remaining length (2.1.3, 1.5.5)", Repeat(0xFF, 64)),
            Pre("v5 reserved packet type 0", V5, "type 0 is reserved (2.1.2)", [0x00, 0x00]),
            Pre("v5 PINGRESP instead of CONNACK", V5, "the first packet from the server must be CONNACK (3.2)", [0xD0, 0x00]),
            Pre("v5 remaining length of 5 bytes", V5, "the variable byte integer is at most 4 bytes (1.5.5)", [0x20, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]),
            PreThenClose("v5 truncated CONNACK then close", V5, "connection closed inside a packet", [0x20, 0x03, 0x00]),
            Pre("v5 truncated CONNACK then silence", V5, "packet never completes: the connect timeout must end it", [0x20, 0x03, 0x00]),
            PreThenClose("v5 remaining length 268435455 then close", V5, "announces the largest packet, then closes", [0x20, 0xFF, 0xFF, 0xFF, 0x7F]),
            Pre("v5 non-minimal remaining length in CONNACK", V5, "the encoded value MUST use the minimum number of bytes (1.5.5)", [0x20, 0x83, 0x80, 0x00, 0x00, 0x00, 0x00]),
            Pre("v5 CONNACK with fixed-header flags set", V5, "CONNACK flags are reserved 0000 (2.1.3); malformed", [0x2F, 0x03, 0x00, 0x00, 0x00]),
            Pre("v5 CONNACK with reserved acknowledge flags", V5, "bits 7-1 of the acknowledge flags are reserved 0 (3.2.2.1)", [0x20, 0x03, 0xFE, 0x00, 0x00]),
            Pre("v5 CONNACK with undefined reason code 0x42", V5, "only the reason codes of 3.2.2.2 exist", Connack(0x42)),
            Pre("v5 CONNACK with a property twice", V5, "Maximum QoS included twice is a protocol error (3.2.2.3.4)", Connack(0x00, Props([0x24, 0x00], [0x24, 0x01]))),
            Pre("v5 CONNACK with unknown property 0x7F", V5, "an unknown property identifier is malformed (2.2.2.2)", Connack(0x00, Props([0x7F, 0x00]))),
            Pre("v5 CONNACK property length beyond the packet", V5, "property length exceeds remaining length: malformed", Packet(0x20, [0x00, 0x00, 0x10])),
            Pre("v5 CONNACK reason string with invalid UTF-8", V5, "ill-formed UTF-8 is malformed (1.5.4)", Connack(0x00, Props([0x1F, .. RawString(0xC0, 0xAF)]))),
            Pre("v5 CONNACK assigned client id with an encoded surrogate", V5, "UTF-8 of U+D800 is ill-formed (1.5.4)", Connack(0x00, Props([0x12, .. RawString(0xED, 0xA0, 0x80)]))),
            Pre("v5 CONNACK Maximum QoS 2", V5, "Maximum QoS may only be 0 or 1 (3.2.2.3.4): protocol error", Connack(0x00, Props([0x24, 0x02]))),
            Pre("v5 CONNACK Receive Maximum 0", V5, "Receive Maximum 0 is a protocol error (3.2.2.3.3)", Connack(0x00, Props([0x21, 0x00, 0x00]))),
            Pre("v5 CONNACK above our Maximum Packet Size", V5, "the server MUST NOT send packets above the client's maximum (3.1.2.11.4)",
                Connack(0x00, Props([0x26, .. Str("k"), .. Str(new string('v', OurMaximumPacketSize + 100))]))),
            Pre("v5 PUBLISH before CONNACK", V5, "the server MUST send CONNACK before any other packet (3.2; 4.13.1 protocol error)",
                Publish(true, Topic("early/topic")), Connack()),
            Pre("v5 AUTH without method before CONNACK", V5, "AUTH when no authentication method was used is a protocol error (4.12)", [0xF0, 0x02, 0x18, 0x00]),
            Pre("v5 DISCONNECT instead of CONNACK", V5, "the server answers CONNECT with CONNACK (3.2); here it hangs up with DISCONNECT 0x87", [0xE0, 0x02, 0x87, 0x00]),
            new("v5 server closes right after CONNECT", V5, Expect.ConnectFails, s => { s.Close(); return Task.CompletedTask; }, "no CONNACK at all"),
            new("v5 server resets right after CONNECT", V5, Expect.ConnectFails, s => { s.Reset(); return Task.CompletedTask; }, "RST instead of CONNACK"),
            new("v5 endless garbage instead of CONNACK", V5, Expect.ConnectFails,
                s => s.StreamAsync(Repeat(0xFF, 16 * 1024), StreamDuration, StreamLimit), "a server that never stops sending"),
            new("v5 endless body of a huge packet instead of CONNACK", V5, Expect.ConnectFails,
                async s =>
                {
                    await s.SendAsync(0x30, 0xFF, 0xFF, 0xFF, 0x7F);
                    await s.StreamAsync(new byte[16 * 1024], StreamDuration, StreamLimit);
                }, "a 256 MB packet announced and streamed"),

            // ---------------- MQTT 3.1.1, before CONNACK ----------------
            Pre("v3 CONNACK return code 6", V3, "return codes 6-255 are reserved (3.1.1 3.2.2.3)", [0x20, 0x02, 0x00, 0x06]),
            Pre("v3 CONNACK with remaining length 3", V3, "CONNACK remaining length is 2 in 3.1.1 (3.2.1)", [0x20, 0x03, 0x00, 0x00, 0x00]),
            Pre("v3 reserved packet type 15", V3, "type 15 is reserved in 3.1.1 (2.2.1)", [0xF0, 0x00]),
            Pre("v3 garbage instead of CONNACK", V3, "not an MQTT packet", Bytes("SSH-2.0-OpenSSH_9.6\r\n")),
            Pre("v3 PUBLISH before CONNACK", V3, "the first packet from the server MUST be CONNACK (3.2)", Publish(false, Topic("early/topic")), [0x20, 0x02, 0x00, 0x00]),

            // ---------------- MQTT 5, a bad PUBLISH after CONNACK ----------------
            Post("v5 PUBLISH with QoS 3", V5, Expect.Rejected, "QoS 3 is malformed (3.3.1.2)", Publish(true, Topic("t/q3"), qos: 3)),
            Post("v5 QoS 1 PUBLISH with packet id 0", V5, Expect.Rejected, "packet identifiers are non-zero (2.2.1)", Publish(true, Topic("t/id0"), qos: 1, packetId: 0)),
            Post("v5 PUBLISH topic with invalid UTF-8", V5, Expect.Rejected, "ill-formed UTF-8 (1.5.4): malformed", Publish(true, RawString((byte)'t', (byte)'/', 0xC0, 0xAF))),
            Post("v5 PUBLISH topic with an encoded surrogate", V5, Expect.Rejected, "UTF-8 of U+D800 is ill-formed (1.5.4)", Publish(true, RawString((byte)'t', (byte)'/', 0xED, 0xA0, 0x80))),
            Post("v5 PUBLISH topic with U+0000", V5, Expect.Rejected, "U+0000 is not allowed (1.5.4)", Publish(true, RawString((byte)'t', (byte)'/', 0x00, (byte)'x'))),
            Post("v5 PUBLISH topic with '+'", V5, Expect.Rejected, "a topic name MUST NOT contain wildcards (3.3.2.1)", Publish(true, Topic("t/+"))),
            Post("v5 PUBLISH topic with '#'", V5, Expect.Rejected, "a topic name MUST NOT contain wildcards (3.3.2.1)", Publish(true, Topic("t/#"))),
            Post("v5 PUBLISH with empty topic and no alias", V5, Expect.Rejected, "zero-length topic without a topic alias is a protocol error (3.3.2.1)", Publish(true, Topic(string.Empty))),
            Post("v5 PUBLISH with topic alias 0", V5, Expect.Rejected, "topic alias 0 is a protocol error (3.3.2.3.4)", Publish(true, Topic("t/alias0"), properties: Props([0x23, 0x00, 0x00]))),
            Post("v5 PUBLISH with topic alias above our maximum", V5, Expect.Rejected, "alias above the client's Topic Alias Maximum is a protocol error (3.3.2.3.4)",
                Publish(true, Topic("t/alias-high"), properties: Props([0x23, .. U16(OurTopicAliasMaximum + 1)]))),
            Post("v5 PUBLISH with an unknown topic alias", V5, Expect.Rejected, "empty topic with an alias never set is a protocol error (3.3.2.3.4)",
                Publish(true, Topic(string.Empty), properties: Props([0x23, 0x00, 0x03]))),
            Post("v5 PUBLISH with a property twice", V5, Expect.Rejected, "Message Expiry Interval twice is a protocol error (3.3.2.3.3)",
                Publish(true, Topic("t/dup-prop"), properties: Props([0x02, 0x00, 0x00, 0x00, 0x0A], [0x02, 0x00, 0x00, 0x00, 0x0B]))),
            Post("v5 PUBLISH with unknown property 0x7F", V5, Expect.Rejected, "unknown property identifier: malformed (2.2.2.2)", Publish(true, Topic("t/unknown-prop"), properties: Props([0x7F, 0x00]))),
            Post("v5 PUBLISH with subscription identifier 0", V5, Expect.Rejected, "subscription identifier 0 is a protocol error (3.3.2.3.8)", Publish(true, Topic("t/subid0"), properties: Props([0x0B, 0x00]))),
            Post("v5 PUBLISH property length beyond the packet", V5, Expect.Rejected, "property length exceeds remaining length: malformed",
                Packet(0x30, Topic("t/props-overrun"), [0x20, 0x01, 0x00])),
            Post("v5 PUBLISH content type with invalid UTF-8", V5, Expect.Rejected, "ill-formed UTF-8 in a UTF-8 string property (1.5.4)",
                Publish(true, Topic("t/ct"), properties: Props([0x03, .. RawString(0xC0, 0xAF)]))),
            Post("v5 PUBLISH user property with invalid UTF-8", V5, Expect.Rejected, "ill-formed UTF-8 in a string pair (1.5.7)",
                Publish(true, Topic("t/up"), properties: Props([0x26, .. Str("k"), .. RawString(0xED, 0xBF, 0xBF)]))),
            Post("v5 PUBLISH response topic with a wildcard", V5, Expect.Rejected, "the response topic MUST NOT contain wildcards (3.3.2.3.5)",
                Publish(true, Topic("t/rt"), properties: Props([0x08, .. Str("replies/#")]))),
            Post("v5 PUBLISH above our Maximum Packet Size", V5, Expect.Rejected, "the server MUST NOT send packets above the client's maximum (3.1.2.11.4)",
                Publish(true, Topic("t/big"), payload: new byte[OurMaximumPacketSize * 2])),
            Post("v5 QoS 0 PUBLISH with DUP set", V5, Expect.Rejected, "DUP MUST be 0 for QoS 0 (3.3.1.1)", Publish(true, Topic("t/dup"), headerFlags: 0x08)),

            // ---------------- MQTT 5, a packet that must end the connection ----------------
            Post("v5 second CONNACK", V5, Expect.Dropped, "a second CONNACK is a protocol error (3.2)", Connack()),
            Post("v5 reserved packet type 0 after CONNACK", V5, Expect.Dropped, "type 0 is reserved (2.1.2)", [0x00, 0x00]),
            Post("v5 CONNECT sent to the client", V5, Expect.Dropped, "CONNECT flows client to server only (2.1.2)",
                Packet(0x10, Str("MQTT"), [0x05, 0x02, 0x00, 0x3C, 0x00], Str("evil"))),
            Post("v5 SUBSCRIBE sent to the client", V5, Expect.Dropped, "SUBSCRIBE flows client to server only (2.1.2)", Packet(0x82, U16(7), [0x00], Str("a/#"), [0x01])),
            Post("v5 PINGREQ sent to the client", V5, Expect.Dropped, "PINGREQ flows client to server only (2.1.2)", [0xC0, 0x00]),
            Post("v5 PINGRESP with a body", V5, Expect.Dropped, "PINGRESP has no variable header or payload (3.13)", [0xD0, 0x01, 0x00]),
            Post("v5 PUBACK with fixed-header flags set", V5, Expect.Dropped, "PUBACK flags are reserved 0000 (2.1.3)", [0x4F, 0x02, 0x00, 0x01]),
            Post("v5 PUBREL with fixed-header flags 0000", V5, Expect.Dropped, "PUBREL flags are 0010; anything else is malformed (3.6.1)", [0x60, 0x02, 0x00, 0x01]),
            Post("v5 remaining length of 5 bytes after CONNACK", V5, Expect.Dropped, "variable byte integer of more than 4 bytes (1.5.5)", [0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]),
            Post("v5 garbage after CONNACK", V5, Expect.Dropped, "not MQTT", Repeat(0xFF, 64)),
            PostThen("v5 server closes mid-packet", V5, Expect.Dropped, "FIN inside a PUBLISH", async s =>
            {
                await s.SendAsync(0x30, 0x10, 0x00, 0x03, (byte)'t');
                s.Close();
            }),
            PostThen("v5 server resets mid-packet", V5, Expect.Dropped, "RST inside a PUBLISH", async s =>
            {
                await s.SendAsync(0x30, 0x10, 0x00, 0x03, (byte)'t');
                s.Reset();
            }),
            PostThen("v5 truncated packet then silence", V5, Expect.Dropped, "a packet that never completes: keep alive must find it", async s =>
            {
                s.AnswerPing = false;
                await s.SendAsync(0x30, 0x10, 0x00, 0x03, (byte)'t');
            }),
            PostThen("v5 endless body of a huge PUBLISH", V5, Expect.Dropped, "a 256 MB PUBLISH above our Maximum Packet Size, streamed (3.1.2.11.4)", async s =>
            {
                await s.SendAsync(0x30, 0xFF, 0xFF, 0xFF, 0x7F);
                await s.StreamAsync(new byte[16 * 1024], StreamDuration, StreamLimit);
            }),
            Post("v5 DISCONNECT with client-only reason 0x04", V5, Expect.Dropped, "0x04 is sent by clients only (3.14.2.1); the connection ends either way", [0xE0, 0x02, 0x04, 0x00]),
            Post("v5 DISCONNECT with undefined reason 0xFF", V5, Expect.Dropped, "reason 0xFF is not defined (3.14.2.1)", [0xE0, 0x02, 0xFF, 0x00]),
            Post("v5 DISCONNECT 0x9C with a server reference", V5, Expect.Dropped, "use another server (4.11)", Packet(0xE0, [0x9C], Props([0x1C, .. Str("other.example")]))),
            Post("v5 DISCONNECT with malformed properties", V5, Expect.Dropped, "property length beyond the packet", [0xE0, 0x03, 0x8E, 0x05, 0x1F]),
            Post("v5 DISCONNECT reason string with invalid UTF-8", V5, Expect.Dropped, "ill-formed UTF-8 (1.5.4)", Packet(0xE0, [0x80], Props([0x1F, .. RawString(0xC0, 0xAF)]))),
            Post("v5 AUTH without method after CONNACK", V5, Expect.Dropped, "AUTH without an authentication method in use is a protocol error (4.12)", [0xF0, 0x00]),
            Post("v5 AUTH continue without method after CONNACK", V5, Expect.Dropped, "AUTH 0x18 without method is a protocol error (3.15.2.2.2)", [0xF0, 0x02, 0x18, 0x00]),

            // ---------------- MQTT 5, answers to our SUBSCRIBE ----------------
            OnSubscribe("v5 SUBACK with more reason codes than filters", V5, "one reason code per filter (3.9.3)", p => [Packet(0x90, U16(p.PacketId), [0x00], [0x00, 0x00])]),
            OnSubscribe("v5 SUBACK with no reason code", V5, "one reason code per filter (3.9.3)", p => [Packet(0x90, U16(p.PacketId), [0x00])]),
            OnSubscribe("v5 SUBACK for an unknown packet id only", V5, "the SUBACK must carry the SUBSCRIBE's packet id (3.9.2)", p => [Packet(0x90, U16(p.PacketId ^ 0x5555), [0x00], [0x00])]),
            OnSubscribe("v5 SUBACK with undefined reason code 0x03", V5, "only the SUBACK reason codes of 3.9.3 exist", p => [Packet(0x90, U16(p.PacketId), [0x00], [0x03])]),

            // ---------------- MQTT 5, stray acknowledgements ----------------
            Post("v5 PUBACK for an unknown packet id", V5, Expect.Survives, "nothing is in flight with that id", Packet(0x40, U16(0x1234))),
            Post("v5 PUBREC for an unknown packet id", V5, Expect.Survives, "answered with PUBREL 0x92 Packet Identifier not found (3.6.2.1)", Packet(0x50, U16(0x1234))),
            Post("v5 PUBREL for an unknown packet id", V5, Expect.Survives, "answered with PUBCOMP 0x92 Packet Identifier not found (3.7.2.1)", Packet(0x62, U16(0x1234))),
            Post("v5 PUBCOMP for an unknown packet id", V5, Expect.Survives, "nothing is in flight with that id", Packet(0x70, U16(0x1234))),
            Post("v5 UNSUBACK for an unknown packet id", V5, Expect.Survives, "no UNSUBSCRIBE with that id", Packet(0xB0, U16(0x1234), [0x00], [0x00])),

            // ---------------- MQTT 3.1.1, after CONNACK ----------------
            Post("v3 PUBLISH with QoS 3", V3, Expect.Rejected, "QoS 3 is malformed (3.1.1 3.3.1.2)", Publish(false, Topic("t/q3"), qos: 3)),
            Post("v3 QoS 1 PUBLISH with packet id 0", V3, Expect.Rejected, "packet identifiers are non-zero (3.1.1 2.3.1)", Publish(false, Topic("t/id0"), qos: 1, packetId: 0)),
            Post("v3 PUBLISH topic with invalid UTF-8", V3, Expect.Rejected, "ill-formed UTF-8 (3.1.1 1.5.3)", Publish(false, RawString((byte)'t', (byte)'/', 0xC0, 0xAF))),
            Post("v3 PUBLISH topic with '+'", V3, Expect.Rejected, "a topic name MUST NOT contain wildcards (3.1.1 3.3.2.1)", Publish(false, Topic("t/+"))),
            Post("v3 PUBLISH with empty topic", V3, Expect.Rejected, "a topic name is at least one character (3.1.1 4.7.3)", Publish(false, Topic(string.Empty))),
            Post("v3 second CONNACK", V3, Expect.Dropped, "a second CONNACK is a protocol violation (3.1.1 3.2)", [0x20, 0x02, 0x00, 0x00]),
            Post("v3 reserved packet type 15 after CONNACK", V3, Expect.Dropped, "type 15 is reserved in 3.1.1 (2.2.1)", [0xF0, 0x00]),
            Post("v3 DISCONNECT from the server", V3, Expect.Dropped, "in 3.1.1 DISCONNECT flows client to server only (3.14)", [0xE0, 0x00]),
            PostThen("v3 server closes mid-packet", V3, Expect.Dropped, "FIN inside a PUBLISH", async s =>
            {
                await s.SendAsync(0x30, 0x10, 0x00, 0x03, (byte)'t');
                s.Close();
            }),
            PostThen("v3 endless body of a huge PUBLISH", V3, Expect.Dropped, "a 256 MB PUBLISH, streamed: must not hang or buffer without bound", async s =>
            {
                await s.SendAsync(0x30, 0xFF, 0xFF, 0xFF, 0x7F);
                await s.StreamAsync(new byte[16 * 1024], StreamDuration, StreamLimit);
            }),
            OnSubscribe("v3 SUBACK with more return codes than filters", V3, "one return code per filter (3.1.1 3.9.3)", p => [Packet(0x90, U16(p.PacketId), [0x00, 0x00])]),
            OnSubscribe("v3 SUBACK with return code 0x03", V3, "return codes other than 0x00-0x02 and 0x80 are reserved (3.1.1 3.9.3)", p => [Packet(0x90, U16(p.PacketId), [0x03])]),
            Post("v3 PUBREL for an unknown packet id", V3, Expect.Survives, "answered with PUBCOMP (3.1.1 4.3.3)", Packet(0x62, U16(0x1234))),
        };

        return list;
    }
}
