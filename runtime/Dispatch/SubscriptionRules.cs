using TypedMqtt.Topics;

namespace TypedMqtt.Dispatch;

/// <summary>What a subscription must satisfy before anything is registered or sent.</summary>
internal static class SubscriptionRules
{
    /// <summary>Checks filter and options; returns the filter as the broker sees it (with any <c>$share/group/</c> prefix).</summary>
    public static string BrokerFilter(string filter, MqttSubscriptionOptions options, MqttVersion version)
    {
        var error = TopicRules.CheckTopicFilter(filter);
        if (error is not null)
        {
            throw new ArgumentException(error, nameof(filter));
        }

        if (options.Qos is < MqttQos.AtMostOnce or > MqttQos.ExactlyOnce)
        {
            throw new ArgumentException($"Subscription QoS {(int)options.Qos} is invalid; use 0, 1 or 2.", nameof(options));
        }

        if (options.UsesVersion5Features && version != MqttVersion.V500)
        {
            throw new ArgumentException($"No local, retain as published, retain handling and shared subscriptions are MQTT 5 features but the connection uses {MqttConnectionOptionsValidator.Describe(version)}.", nameof(options));
        }

        if (options.SharedGroup is null)
        {
            return filter;
        }

        if (options.NoLocal)
        {
            // MQTT 5 §3.8.3.1 [MQTT-3.8.3-4]: No Local on a shared subscription is a protocol error.
            throw new ArgumentException($"No local cannot be used with the shared subscription group '{options.SharedGroup}': MQTT 5 makes it a protocol error (a shared subscription's messages may come from any member). Drop NoLocal or the group.", nameof(options));
        }

        var groupError = TopicRules.CheckShareName(options.SharedGroup);
        return groupError is not null ? throw new ArgumentException(groupError, nameof(options)) : $"$share/{options.SharedGroup}/{filter}";
    }
}
