using TypedMqtt.InMemory;

namespace TypedMqtt.Tests.Testing;

/// <summary>The in-memory stream under the in-memory transport: order, back pressure, and a close seen as a socket's.</summary>
public sealed class InMemoryDuplexStreamTests
{
    [Fact]
    public async Task Bytes_arrive_in_order_and_a_writer_far_ahead_of_its_reader_waits()
    {
        var (a, b) = InMemoryDuplexStream.CreatePair();
        await using var _ = a;
        await using var __ = b;

        // 256 chunks are buffered; the 257th write waits until the reader takes one.
        for (var i = 0; i < 256; i++)
        {
            await a.WriteAsync(new[] { (byte)i }).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        }

        var blocked = a.WriteAsync(new byte[] { 0xFF }).AsTask();
        await Task.Delay(100);
        Assert.False(blocked.IsCompleted, "a write past the buffer completed without a reader");

        var buffer = new byte[1];
        Assert.Equal(1, await b.ReadAsync(buffer));
        Assert.Equal(0, buffer[0]);
        await blocked.WaitAsync(TimeSpan.FromSeconds(5));

        for (var i = 1; i < 256; i++)
        {
            Assert.Equal(1, await b.ReadAsync(buffer));
            Assert.Equal((byte)i, buffer[0]);
        }

        Assert.Equal(1, await b.ReadAsync(buffer));
        Assert.Equal(0xFF, buffer[0]);
    }

    [Fact]
    public async Task A_read_takes_part_of_a_chunk_and_the_next_read_the_rest()
    {
        var (a, b) = InMemoryDuplexStream.CreatePair();
        await a.WriteAsync(new byte[] { 1, 2, 3, 4, 5 });
        var buffer = new byte[3];

        Assert.Equal(3, await b.ReadAsync(buffer));
        Assert.Equal(new byte[] { 1, 2, 3 }, buffer);
        Assert.Equal(2, await b.ReadAsync(buffer));
        Assert.Equal(new byte[] { 4, 5 }, buffer[..2]);
    }

    [Fact]
    public async Task Closing_one_end_is_the_end_of_the_stream_for_the_other_and_its_writes_fail()
    {
        var (a, b) = InMemoryDuplexStream.CreatePair();
        var pendingRead = b.ReadAsync(new byte[4]).AsTask();

        await a.DisposeAsync();

        Assert.Equal(0, await pendingRead.WaitAsync(TimeSpan.FromSeconds(5)));
        var error = await Assert.ThrowsAsync<IOException>(() => b.WriteAsync(new byte[] { 1 }).AsTask());
        Assert.Contains("closed", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => a.ReadAsync(new byte[1]).AsTask());
    }
}
