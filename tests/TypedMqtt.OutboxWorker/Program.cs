using System.Buffers.Binary;
using System.Diagnostics;
using TypedMqtt;

// The R9 worker. Prints one status line per step on stdout; the test drives it.
//   queue <address> <clientId> <outbox> <topic> <count>
//     connect, print "connected", wait for a line on stdin, wait until the connection is down, publish <count> QoS 1
//     messages numbered 0..count-1 (not awaited: they sit in the offline queue and the outbox), print "queued <n>",
//     then wait forever (the test kills the process).
//   stream <address> <clientId> <outbox> <topic> <start> <count>
//     (R13) open the outbox, connect on a persistent session, print "connected <session present> pending <n>", publish
//     QoS 2 messages numbered start..start+count-1 with at most 32 awaiting completion, printing "accepted <i>" after
//     every 25th publish call returned (the message is then in the outbox), then wait until every publish completed and
//     the outbox is empty, print "done", exit 0. The test kills it with SIGKILL at some "accepted" line.
//   deliver <address> <clientId> <outbox>
//     open the outbox, print "pending <n>", connect with it, wait until it is empty, print "delivered", exit 0
//     (exit 2 when it does not empty within 30 s).
if (args.Length < 4)
{
    Console.Error.WriteLine("usage: queue <address> <clientId> <outbox> <topic> <count> | deliver <address> <clientId> <outbox>");
    return 64;
}

var (mode, address, clientId, path) = (args[0], args[1], args[2], args[3]);
var outbox = new MqttFileOutbox(path);
var options = MqttConnectionOptionsBuilder.FromAddress(address)
    .WithClientId(clientId)
    .WithKeepAlive(TimeSpan.FromSeconds(5))
    .Configure(o => o with
    {
        Outbox = outbox,
        Reconnect = new MqttReconnectOptions { MinDelay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromMilliseconds(500) },
    })
    .Build();

if (mode == "queue")
{
    var topic = args[4];
    var count = int.Parse(args[5], System.Globalization.CultureInfo.InvariantCulture);
    var connection = await MqttConnection.ConnectAsync(options);
    Console.WriteLine("connected");
    _ = Console.ReadLine();
    var clock = Stopwatch.StartNew();
    while (connection.State == MqttConnectionState.Connected && clock.Elapsed < TimeSpan.FromSeconds(10))
    {
        await Task.Delay(10);
    }

    Console.WriteLine($"offline {connection.State}");
    var pending = new List<Task>(count);
    for (var i = 0; i < count; i++)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(payload, i);
        pending.Add(connection.PublishAsync(topic, payload, MqttQos.AtLeastOnce));
    }

    Console.WriteLine($"queued {count} completed {pending.Count(t => t.IsCompletedSuccessfully)} failed {pending.Count(t => t.IsFaulted)}");
    await Task.Delay(Timeout.Infinite);
    return 0;
}

if (mode == "stream")
{
    var topic = args[4];
    var start = int.Parse(args[5], System.Globalization.CultureInfo.InvariantCulture);
    var count = int.Parse(args[6], System.Globalization.CultureInfo.InvariantCulture);
    var pendingAtStart = outbox.Pending().Count;
    var persistent = options with { CleanStart = false, SessionExpiryInterval = 600 };
    await using var connection = await MqttConnection.ConnectAsync(persistent);
    Console.WriteLine($"connected {connection.ConnectResult.IsSessionPresent} pending {pendingAtStart}");
    var window = new SemaphoreSlim(32, 32);
    var all = new List<Task>(count);
    for (var i = start; i < start + count; i++)
    {
        await window.WaitAsync();
        var payload = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(payload, i);
        var publish = connection.PublishAsync(topic, payload, MqttQos.ExactlyOnce);
        all.Add(publish);
        _ = publish.ContinueWith(_ => window.Release(), TaskScheduler.Default);
        if (i % 25 == 0)
        {
            Console.WriteLine($"accepted {i}");
        }
    }

    await Task.WhenAll(all);
    var clock = Stopwatch.StartNew();
    while (outbox.Pending().Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(30))
    {
        await Task.Delay(20);
    }

    Console.WriteLine(outbox.Pending().Count == 0 ? "done" : $"still pending {outbox.Pending().Count}");
    return outbox.Pending().Count == 0 ? 0 : 2;
}

if (mode == "deliver")
{
    Console.WriteLine($"pending {outbox.Pending().Count}");
    await using var connection = await MqttConnection.ConnectAsync(options);
    var clock = Stopwatch.StartNew();
    while (outbox.Pending().Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(30))
    {
        await Task.Delay(20);
    }

    var left = outbox.Pending().Count;
    Console.WriteLine(left == 0 ? $"delivered in {clock.ElapsedMilliseconds} ms" : $"still pending {left}");
    return left == 0 ? 0 : 2;
}

Console.Error.WriteLine("unknown mode " + mode);
return 64;
