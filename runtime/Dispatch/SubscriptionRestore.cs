using TypedMqtt.Link;

namespace TypedMqtt.Dispatch;

/// <summary>
/// Subscribes a connection's filters on a new link whose broker lacks them: all of them after a connect without a
/// session (or the first connect of a connection whose subscriptions were declared before it opened), the ones the
/// session has not confirmed after a connect with one (declared or upgraded while offline, or unanswered when the last
/// link dropped).
/// <para>
/// Every SUBSCRIBE is handed to the link before <see cref="Start"/> returns, in order, and the link's send lock is first
/// come, first served, so they are written before anything the caller lets the link write afterwards: a queued publish
/// cannot overtake the subscription that receives it, or a request's reply topic. A call still waiting to subscribe
/// one of these filters awaits this SUBSCRIBE instead of sending its own
/// (<see cref="SubscriptionRegistry.FilterEntry.RestoredOn"/>), so each filter goes once.
/// </para>
/// <para>
/// The answers come in one round trip. Each waits without a timeout of its own (the broker answers them in turn, with
/// each one's retained messages), and those left fail together once no answer came for a whole request timeout.
/// Refusals go to the failure callback, for filters with a subscription whose call has returned (a call still waiting
/// throws the refusal instead); a lost link reports nothing (the next link restores again).
/// </para>
/// </summary>
internal sealed class SubscriptionRestore
{
    private readonly MqttLink _link;
    private readonly Action<string, Exception> _failed;
    private readonly CancellationToken _closing;
    private readonly CancellationTokenSource _stalled;
    private int _answered;

    private SubscriptionRestore(MqttLink link, Action<string, Exception> failed, CancellationToken closing)
    {
        _link = link;
        _failed = failed;
        _closing = closing;
        _stalled = CancellationTokenSource.CreateLinkedTokenSource(closing);
    }

    /// <summary>Hands a SUBSCRIBE for each of <paramref name="entries"/> to <paramref name="link"/>; the task completes when all are answered or failed (it never faults).</summary>
    public static Task Start(SubscriptionRegistry.FilterEntry[] entries, MqttLink link, Action<string, Exception> failed, CancellationToken closing)
    {
        if (entries.Length == 0)
        {
            return Task.CompletedTask;
        }

        var restore = new SubscriptionRestore(link, failed, closing);
        var reports = new Task[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            var subscribed = restore.SubscribeAsync(entries[i]);
            entries[i].Restoring(link, subscribed);
            reports[i] = restore.ReportAsync(subscribed, entries[i]);
        }

        return restore.WatchAsync(Task.WhenAll(reports));
    }

    /// <summary>Cancels what is left once no answer came for a request timeout; completes with the restore (never faults).</summary>
    private async Task WatchAsync(Task all)
    {
        using (_stalled)
        {
            var seen = 0;
            while (!all.IsCompleted)
            {
                try
                {
                    await all.WaitAsync(_link.Settings.RequestTimeout).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    var answered = Volatile.Read(ref _answered);
                    if (answered == seen)
                    {
                        await _stalled.CancelAsync().ConfigureAwait(false);
                    }

                    seen = answered;
                }
            }

            await all.ConfigureAwait(false);
        }
    }

    /// <summary>One filter's SUBSCRIBE: fails like a call's (<see cref="MqttOperationException"/>), also when the restore stalled.</summary>
    private async Task SubscribeAsync(SubscriptionRegistry.FilterEntry entry)
    {
        try
        {
            await InboundRouter.SubscribeAsync(_link, entry, _stalled.Token, Timeout.InfiniteTimeSpan).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stalled.IsCancellationRequested && !_closing.IsCancellationRequested)
        {
            throw new MqttOperationException(
                $"Subscribing to '{entry.Filter}' on the new connection failed: the broker answered none of its SUBSCRIBEs for {_link.Settings.RequestTimeout.TotalSeconds:0.#} s (the request timeout, which is ConnectTimeout). The subscription stays declared and is sent again on the next connection; if this broker is only slow to answer, raise ConnectTimeout.",
                reasonCode: null);
        }
        finally
        {
            Interlocked.Increment(ref _answered);
        }
    }

    /// <summary>Reports a filter's failure (never faults): not when the connection is closing, nor when the link was lost.</summary>
    private async Task ReportAsync(Task subscribed, SubscriptionRegistry.FilterEntry entry)
    {
        try
        {
            await subscribed.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
            // The connection is closing.
        }
#pragma warning disable CA1031 // Whatever a lost link made the SUBSCRIBE throw, the next link subscribes again; anything else is the filter's failure.
        catch (Exception) when (_link.IsLost)
        {
        }
        catch (Exception e) when (Array.Exists(entry.Sinks, static sink => sink.Established))
        {
            // A call still waiting for this SUBSCRIBE throws it instead: reported once.
            _failed(entry.Filter, e);
        }
        catch (Exception)
        {
        }
#pragma warning restore CA1031
    }
}
