using System.Collections.Concurrent;

namespace TypedMqtt.Tests.Infrastructure;

/// <summary>What an embedded broker received from one client, in order: "SUBSCRIBE filter", "UNSUBSCRIBE filter", "PUBLISH topic".</summary>
public static class BrokerLog
{
    public static ConcurrentQueue<string> Record(EmbeddedMqttBroker broker, string clientId)
    {
        var seen = new ConcurrentQueue<string>();
        void Add(string eventClientId, string what)
        {
            if (eventClientId == clientId)
            {
                seen.Enqueue(what);
            }
        }

        broker.Server.InterceptingSubscriptionAsync += e =>
        {
            Add(e.ClientId, "SUBSCRIBE " + e.TopicFilter.Topic);
            return Task.CompletedTask;
        };
        broker.Server.InterceptingUnsubscriptionAsync += e =>
        {
            Add(e.ClientId, "UNSUBSCRIBE " + e.Topic);
            return Task.CompletedTask;
        };
        broker.Server.InterceptingPublishAsync += e =>
        {
            Add(e.ClientId, "PUBLISH " + e.ApplicationMessage.Topic);
            return Task.CompletedTask;
        };
        return seen;
    }
}
