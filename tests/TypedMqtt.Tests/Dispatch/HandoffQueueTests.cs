using TypedMqtt.Dispatch;

namespace TypedMqtt.Tests.Dispatch;

/// <summary>The queue between the receive path and a subscription's worker (and between a link's read and delivery loops).</summary>
public sealed class HandoffQueueTests
{
    [Fact]
    public async Task Items_come_out_in_order_and_the_wait_ends_with_false_after_complete()
    {
        var queue = new HandoffQueue<int>();
        Assert.True(queue.TryWrite(1));
        Assert.True(queue.TryWrite(2));
        Assert.True(await queue.WaitToReadAsync());
        Assert.True(queue.TryRead(out var first));
        Assert.True(queue.TryRead(out var second));
        Assert.False(queue.TryRead(out _));
        Assert.Equal((1, 2), (first, second));

        var waiting = queue.WaitToReadAsync().AsTask();
        Assert.False(waiting.IsCompleted);
        queue.TryWrite(3);
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
        queue.Complete();
        Assert.False(queue.TryWrite(4));
        Assert.True(await queue.WaitToReadAsync()); // 3 is still there
        Assert.True(queue.TryRead(out var third));
        Assert.Equal(3, third);
        Assert.False(await queue.WaitToReadAsync());
    }

    [Fact]
    public async Task A_waiting_reader_is_woken_by_complete()
    {
        var queue = new HandoffQueue<string>();
        var waiting = queue.WaitToReadAsync().AsTask();
        queue.Complete();
        Assert.False(await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task The_reader_resumes_on_the_thread_pool_never_inside_the_writer()
    {
        var queue = new HandoffQueue<int>();
        var resumedOn = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = Task.Run(async () =>
        {
            await queue.WaitToReadAsync().ConfigureAwait(false);
            resumedOn.SetResult(Environment.CurrentManagedThreadId);
        });
        await Task.Delay(100); // the reader is parked in its wait
        var writerThread = 0;
        var writer = new Thread(() =>
        {
            writerThread = Environment.CurrentManagedThreadId;
            queue.TryWrite(1);
        });
        writer.Start();
        writer.Join();

        Assert.NotEqual(writerThread, await resumedOn.Task.WaitAsync(TimeSpan.FromSeconds(5)));
        await reader;
    }

    [Fact]
    public async Task Four_writers_and_one_reader_lose_nothing_and_keep_each_writers_order()
    {
        const int PerWriter = 20_000;
        var queue = new HandoffQueue<(int Writer, int Sequence)>();
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < PerWriter; i++)
            {
                queue.TryWrite((w, i));
            }
        })).ToArray();
        var completed = Task.WhenAll(writers).ContinueWith(_ => queue.Complete(), TaskScheduler.Default);

        var next = new int[4];
        var read = 0;
        while (await queue.WaitToReadAsync())
        {
            while (queue.TryRead(out var item))
            {
                Assert.Equal(next[item.Writer]++, item.Sequence);
                read++;
            }
        }

        await completed;
        Assert.Equal(4 * PerWriter, read);
    }
}
