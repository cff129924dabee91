using System.Diagnostics;
using System.Text;
using TypedMqtt.Tests.Infrastructure;
using Xunit.Abstractions;
using static TypedMqtt.Tests.Reliability.ReliabilityKit;

namespace TypedMqtt.Tests.Reliability;

/// <summary>
/// R9: a process accepts 1,000 QoS 1 publishes into its durable outbox while the broker is unreachable and is then
/// killed. Started again with the same outbox file and a reachable broker, it delivers all 1,000.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class R9DurableOutboxTests(ITestOutputHelper output)
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    private const int Messages = 1_000;

    [MosquittoFact]
    public async Task R9_messages_in_the_durable_outbox_survive_a_killed_process()
    {
        var total = Stopwatch.StartNew();
        await using var broker = await MosquittoBroker.StartAsync(PersistentBroker());
        var counts = new int[Messages];
        await using var subscriber = await ConnectAsync(broker.TcpAddress, NewClientId("r9-sub"), persistentSession: false);
        await using var subscription = await CountIntoAsync(subscriber, "r9/seq", MqttQos.AtLeastOnce, counts);
        var outboxPath = Path.Combine(broker.Directory, "worker.outbox");
        var clientId = NewClientId("r9-worker");

        // First life: connected through a proxy, which then disappears; the publishes are accepted offline; killed.
        var proxy = new TcpProxy(broker.TcpPort);
        using var first = Worker.Start("queue", proxy.Address, clientId, outboxPath, "r9/seq", Messages.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await first.ExpectAsync("connected");
        await proxy.DisposeAsync(); // connections reset, and nothing listens there any more
        await first.SendLineAsync("go");
        var offline = await first.ExpectAsync("offline");
        var queued = await first.ExpectAsync("queued");
        first.Kill();
        var receivedBeforeRestart = counts.Count(c => c > 0);

        // What the killed process left behind (opening the outbox also compacts it, as the next process would).
        int pendingAfterKill;
        using (var inspect = new MqttFileOutbox(outboxPath))
        {
            pendingAfterKill = inspect.Pending().Count;
        }

        // Second life: same outbox, broker reachable.
        var restart = Stopwatch.StartNew();
        using var second = Worker.Start("deliver", broker.TcpAddress, clientId, outboxPath);
        var pendingAtStart = await second.ExpectAsync("pending");
        var delivered = await second.ExpectAsync("delivered", "still pending");
        var exitCode = await second.WaitForExitAsync();
        var wait = Stopwatch.StartNew();
        while (counts.Count(c => c > 0) < Messages && wait.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }

        var received = counts.Count(c => c > 0);
        Print(output, "R9",
            ("first process", $"{offline}; {queued}"), ("received before the restart", receivedBeforeRestart), ("pending in the outbox after kill", pendingAfterKill),
            ("second process", $"{pendingAtStart}; {delivered}; exit {exitCode}"), ("received distinct", received),
            ("duplicates", counts.Sum(c => Math.Max(c - 1, 0))), ("restart -> all received", Ms(restart.Elapsed)), ("total", Ms(total.Elapsed)));

        Assert.Equal(0, receivedBeforeRestart);
        Assert.Equal(Messages, pendingAfterKill);
        Assert.Equal(0, exitCode);
        Assert.Equal(Messages, received);
    }

    /// <summary>The TypedMqtt.OutboxWorker child process, built next to the tests.</summary>
    private sealed class Worker : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _log = new();

        private Worker(Process process) => _process = process;

        public static Worker Start(params string[] arguments)
        {
            var root = new DirectoryInfo(AppContext.BaseDirectory);
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "TypedMqtt.sln")))
            {
                root = root.Parent;
            }

            var assembly = Path.Combine(root!.FullName, "tests", "TypedMqtt.OutboxWorker", "bin", Configuration, "net10.0", "TypedMqtt.OutboxWorker.dll");
            Assert.True(File.Exists(assembly), $"{assembly} was not built");
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
            start.ArgumentList.Add(assembly);
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            var worker = new Worker(Process.Start(start)!);
            worker._process.ErrorDataReceived += (_, e) =>
            {
                lock (worker._log)
                {
                    worker._log.AppendLine("stderr: " + e.Data);
                }
            };
            worker._process.BeginErrorReadLine();
            return worker;
        }

        /// <summary>Reads stdout until a line starts with one of <paramref name="prefixes"/>; returns that line.</summary>
        public async Task<string> ExpectAsync(params string[] prefixes)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(45));
            while (true)
            {
                string? line;
                try
                {
                    line = await _process.StandardOutput.ReadLineAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    throw new TimeoutException($"The worker printed no '{string.Join("' or '", prefixes)}' within 45 s. Output:\n{Log}");
                }

                if (line is null)
                {
                    throw new InvalidOperationException($"The worker ended before printing '{string.Join("' or '", prefixes)}'. Output:\n{Log}");
                }

                lock (_log)
                {
                    _log.AppendLine(line);
                }

                if (prefixes.Any(p => line.StartsWith(p, StringComparison.Ordinal)))
                {
                    return line;
                }
            }
        }

        public async Task SendLineAsync(string line)
        {
            await _process.StandardInput.WriteLineAsync(line);
            await _process.StandardInput.FlushAsync();
        }

        public void Kill() => _process.Kill(entireProcessTree: true);

        public async Task<int> WaitForExitAsync()
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }

        private string Log
        {
            get
            {
                lock (_log)
                {
                    return _log.ToString();
                }
            }
        }
    }
}
