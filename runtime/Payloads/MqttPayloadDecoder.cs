using System.Buffers;

namespace TypedMqtt;

/// <summary>
/// Turns a received topic and payload into the value a handler receives. Runs on the receive path: it must not block.
/// Throwing means the message is malformed: it is reported through <see cref="MqttConnection.MessageFailed"/> and
/// never reaches the handler.
/// </summary>
/// <typeparam name="T">The decoded value.</typeparam>
/// <param name="topic">The topic the message arrived on.</param>
/// <param name="payload">The payload bytes, valid only during the call.</param>
/// <returns>The decoded value.</returns>
public delegate T MqttPayloadDecoder<out T>(string topic, ReadOnlySequence<byte> payload);
