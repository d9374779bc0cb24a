using AIOps.Trace.Bpf;
using AIOps.Trace.Rings;
using AIOps.Trace.Testing;

namespace AIOps.Trace.Tests.Unit;

public sealed class RingBufferTests
{
    private struct Collect : IRecordHandler
    {
        public List<byte[]> Records;

        public void OnRecord(ReadOnlySpan<byte> record) => (Records ??= new()).Add(record.ToArray());
    }

    [Fact]
    public void Drain_returns_records_in_order_and_publishes_the_consumer_position()
    {
        using var ring = new SyntheticRing(4096);
        ring.Write([1, 2, 3]);
        ring.Write([4, 5, 6, 7, 8, 9, 10, 11, 12]);
        var h = new Collect();

        Assert.Equal(2, ring.Ring.Drain(ref h));

        Assert.Equal([1, 2, 3], h.Records[0]);
        Assert.Equal([4, 5, 6, 7, 8, 9, 10, 11, 12], h.Records[1]);
        // 8-byte header + payload, each rounded up to 8.
        Assert.Equal(16ul + 24ul, ring.ConsumerPosition);
        Assert.Equal(0ul, ring.Ring.Backlog);
    }

    [Fact]
    public void A_busy_record_stops_the_drain_until_it_is_committed()
    {
        using var ring = new SyntheticRing(4096);
        ring.Write([1]);
        ulong busyAt = ring.ProducerPosition;
        ring.Write([2], busy: true);
        ring.Write([3]);
        var h = new Collect();

        Assert.Equal(1, ring.Ring.Drain(ref h));
        Assert.Equal(busyAt, ring.ConsumerPosition);

        ring.Commit(busyAt);
        Assert.Equal(2, ring.Ring.Drain(ref h));
        Assert.Equal([[1], [2], [3]], h.Records);
    }

    [Fact]
    public void Discarded_records_are_skipped()
    {
        using var ring = new SyntheticRing(4096);
        ring.Write([1]);
        ring.Write([2], discard: true);
        ring.Write([3]);
        var h = new Collect();

        Assert.Equal(2, ring.Ring.Drain(ref h));
        Assert.Equal([[1], [3]], h.Records);
        Assert.Equal(ring.ProducerPosition, ring.ConsumerPosition);
    }

    [Fact]
    public void A_record_that_wraps_the_end_comes_out_whole()
    {
        using var ring = new SyntheticRing(64);
        ring.ProducerPosition = ring.ConsumerPosition = 48;
        byte[] payload = Enumerable.Range(1, 30).Select(i => (byte)i).ToArray();
        ring.Write(payload);
        var h = new Collect();

        Assert.Equal(1, ring.Ring.Drain(ref h));
        Assert.Equal(payload, h.Records[0]);
    }

    [Fact]
    public void A_second_lease_is_refused_while_one_is_open()
    {
        using var ring = new SyntheticRing(4096);
        RingLease lease = ring.Ring.Lease();
        try
        {
            Assert.Throws<InvalidOperationException>(() => { using RingLease second = ring.Ring.Lease(); });
        }
        finally
        {
            lease.Dispose();
        }
        using RingLease again = ring.Ring.Lease();
    }

    [Fact]
    public void A_lease_commits_only_what_was_read()
    {
        using var ring = new SyntheticRing(4096);
        ring.Write([1]);
        ring.Write([2]);
        using (RingLease lease = ring.Ring.Lease())
        {
            Assert.True(lease.TryRead(out ReadOnlySpan<byte> first));
            Assert.Equal(1, first[0]);
            Assert.Equal(0ul, ring.ConsumerPosition);
        }
        Assert.Equal(16ul, ring.ConsumerPosition);
        Assert.Equal(16ul, ring.Ring.Backlog);
    }

    [Fact]
    public void ReadCopy_returns_records_that_outlive_the_commit()
    {
        using var ring = new SyntheticRing(64);
        ring.Write([7, 7]);
        ring.Write([8]);

        byte[]? first = ring.Ring.ReadCopy();
        // The slot is reused by the producer after the commit; the copy must not change.
        ring.ProducerPosition = ring.ConsumerPosition = 0;
        ring.Write([9, 9]);

        Assert.Equal([7, 7], first);
        Assert.Equal([9, 9], ring.Ring.ReadCopy());
        Assert.Null(ring.Ring.ReadCopy());
    }
}
