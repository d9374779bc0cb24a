using AIOps.Trace.Aggregation;
using AIOps.Trace.Bpf;
using AIOps.Trace.Rings;
using AIOps.Trace.Testing;

namespace AIOps.Trace.Tests.Unit;

public sealed class PerfBufferTests
{
    private struct Collect : IRecordHandler
    {
        public List<byte[]> Records;

        public void OnRecord(ReadOnlySpan<byte> record) => (Records ??= new()).Add(record.ToArray());
    }

    /// <summary>What the program sent, followed by perf's zero padding to 8 bytes (raw size + 4 is a multiple of 8).</summary>
    private static byte[] Padded(params byte[] payload)
    {
        byte[] padded = new byte[((payload.Length + 4 + 7) & ~7) - 4];
        payload.CopyTo(padded, 0);
        return padded;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Samples_come_out_in_order_with_perfs_padding_and_the_tail_is_published(bool kernelSetsDataArea)
    {
        using var ring = new SyntheticPerfRing(cpus: 1, 4096, kernelSetsDataArea);
        ring.WriteSample(0, [1, 2, 3]);
        ring.WriteSample(0, [4, 5, 6, 7, 8, 9, 10, 11, 12]);
        var h = new Collect();

        Assert.Equal(2, ring.Buffer.Drain(ref h));

        Assert.Equal(Padded(1, 2, 3), h.Records[0]);
        Assert.Equal(Padded(4, 5, 6, 7, 8, 9, 10, 11, 12), h.Records[1]);
        // 8-byte header + 4-byte raw size + payload, each rounded up to 8.
        Assert.Equal(16ul + 24ul, ring.Tail(0));
        Assert.Equal(0ul, ring.Buffer.Backlog);
        Assert.Equal(0, ring.Buffer.Drain(ref h));
    }

    [Fact]
    public void A_lost_record_adds_to_LostRecords_and_is_not_handed_out()
    {
        using var ring = new SyntheticPerfRing(cpus: 1, 4096);
        ring.WriteSample(0, [1]);
        ring.WriteLost(0, lost: 17);
        ring.WriteSample(0, [2]);
        ring.WriteLost(0, lost: 3);
        var h = new Collect();

        Assert.Equal(2, ring.Buffer.Drain(ref h));

        Assert.Equal([Padded(1), Padded(2)], h.Records);
        Assert.Equal(20, ring.Buffer.LostRecords);
        Assert.Equal(0, ring.Buffer.UnknownRecords);
        Assert.Equal(ring.Head(0), ring.Tail(0));
    }

    [Fact]
    public void A_record_that_wraps_the_end_comes_out_whole()
    {
        using var ring = new SyntheticPerfRing(cpus: 1, 64);
        ring.Reset(0, 48);
        byte[] payload = Enumerable.Range(1, 30).Select(i => (byte)i).ToArray();
        ring.WriteSample(0, payload);
        ring.WriteSample(0, [99]);
        var h = new Collect();

        Assert.Equal(2, ring.Buffer.Drain(ref h));

        Assert.Equal(Padded(payload), h.Records[0]);
        Assert.Equal(Padded(99), h.Records[1]);
        Assert.Equal(48ul + 48ul + 16ul, ring.Tail(0));
    }

    [Fact]
    public void Unknown_record_types_are_skipped_and_counted()
    {
        using var ring = new SyntheticPerfRing(cpus: 1, 4096);
        ring.WriteSample(0, [1]);
        ring.WriteRecord(0, type: 5 /* PERF_RECORD_THROTTLE */, new byte[24]);
        ring.WriteSample(0, [2]);
        var h = new Collect();

        Assert.Equal(2, ring.Buffer.Drain(ref h));

        Assert.Equal([Padded(1), Padded(2)], h.Records);
        Assert.Equal(1, ring.Buffer.UnknownRecords);
        Assert.Equal(0, ring.Buffer.LostRecords);
        Assert.Equal(ring.Head(0), ring.Tail(0));
    }

    [Fact]
    public void A_record_with_an_impossible_size_ends_the_drain_of_that_cpu_without_looping()
    {
        using var ring = new SyntheticPerfRing(cpus: 1, 4096);
        ring.WriteSample(0, [1]);
        ulong boundary = ring.Head(0);
        ring.WriteRecord(0, type: 9, new byte[8], sizeOverride: 0);
        ring.WriteSample(0, [2]);
        var h = new Collect();

        Assert.Equal(1, ring.Buffer.Drain(ref h));

        Assert.Equal(1, ring.Buffer.UnknownRecords);
        Assert.Equal(1, ring.Buffer.UnreadableRecords);
        // Everything after the bad header is skipped, and says how much.
        Assert.Equal((long)(ring.Head(0) - boundary), ring.Buffer.SkippedBytes);
        Assert.Equal(ring.Head(0), ring.Tail(0));
    }

    [Fact]
    public void Every_cpu_ring_is_drained()
    {
        using var ring = new SyntheticPerfRing(cpus: 3, 4096);
        ring.WriteSample(0, [10]);
        ring.WriteSample(2, [30]);
        ring.WriteSample(2, [31]);
        ring.WriteSample(1, [20]);
        var h = new Collect();

        Assert.Equal(4, ring.Buffer.Drain(ref h));

        Assert.Equal([Padded(10), Padded(20), Padded(30), Padded(31)], h.Records);
        Assert.Equal(3, ring.Buffer.CpuCount);
    }

    [Fact]
    public void Padded_batches_fold_into_the_aggregator_without_malformed_records()
    {
        using var ring = new SyntheticPerfRing(cpus: 2, 4096);
        Sample[] samples =
        [
            new Sample { CgroupId = 7, Kind = SampleKind.RunQueue, Value = 5000 },
            new Sample { CgroupId = 7, Kind = SampleKind.PreemptedByOtherCgroup, Value = 8 },
        ];
        ring.WriteSample(0, SyntheticRing.Batch(samples));
        ring.WriteSample(1, SyntheticRing.Batch(samples[..1], cpu: 1));
        var table = new ContainerTable();
        var aggregator = new SampleAggregator(table);

        Assert.Equal(2, ring.Buffer.Drain(ref aggregator));

        Assert.Equal(3, aggregator.Samples);
        Assert.Equal(0, aggregator.MalformedRecords);
    }

    [Fact]
    public void ReadCopy_returns_samples_one_at_a_time_that_outlive_the_tail()
    {
        using var ring = new SyntheticPerfRing(cpus: 2, 64);
        ring.WriteLost(0, lost: 2);
        ring.WriteSample(0, [7, 7]);
        ring.WriteSample(1, [8]);

        byte[]? first = ring.Buffer.ReadCopy();
        // The kernel reuses the space once the tail passes it; the copy must not change.
        ring.WriteSample(0, [9, 9]);
        ring.WriteSample(0, [9, 9]);

        Assert.Equal(Padded(7, 7), first);
        Assert.Equal(2, ring.Buffer.LostRecords);
        Assert.Equal(Padded(9, 9), ring.Buffer.ReadCopy());
        Assert.Equal(Padded(9, 9), ring.Buffer.ReadCopy());
        Assert.Equal(Padded(8), ring.Buffer.ReadCopy());
        Assert.Null(ring.Buffer.ReadCopy());
    }

    private struct Reentrant : IRecordHandler
    {
        public PerfBuffer Buffer;
        public Exception? Caught;

        public void OnRecord(ReadOnlySpan<byte> record)
        {
            var inner = new Collect();
            try { Buffer.Drain(ref inner); }
            catch (InvalidOperationException e) { Caught = e; }
        }
    }

    [Fact]
    public void A_second_drain_is_refused_while_one_runs()
    {
        using var ring = new SyntheticPerfRing(cpus: 1, 4096);
        ring.WriteSample(0, [1]);
        var h = new Reentrant { Buffer = ring.Buffer };

        ring.Buffer.Drain(ref h);

        Assert.NotNull(h.Caught);
        ring.WriteSample(0, [2]);
        var again = new Collect();
        Assert.Equal(1, ring.Buffer.Drain(ref again));
    }
}
