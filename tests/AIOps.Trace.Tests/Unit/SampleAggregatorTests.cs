using System.Runtime.InteropServices;
using AIOps.Trace.Aggregation;
using AIOps.Trace.Bpf;
using AIOps.Trace.Testing;

namespace AIOps.Trace.Tests.Unit;

public sealed class SampleAggregatorTests
{
    [Fact]
    public void Batches_fold_into_per_cgroup_waits_and_preemptions()
    {
        var table = new ContainerTable();
        var agg = new SampleAggregator(table);
        Sample[] samples =
        [
            new() { CgroupId = 10, Kind = SampleKind.RunQueue, Value = 1_000 },
            new() { CgroupId = 10, Kind = SampleKind.RunQueue, Value = 3_000 },
            new() { CgroupId = 20, Kind = SampleKind.RunQueue, Value = 50_000 },
            new() { CgroupId = 10, Kind = SampleKind.PreemptedByOtherCgroup, Value = 20 },
            new() { CgroupId = 10, Kind = SampleKind.PreemptedByOtherCgroup, Value = 20 },
            new() { CgroupId = 10, Kind = SampleKind.PreemptedByOtherCgroup, Value = 30 },
            new() { CgroupId = 10, Kind = SampleKind.PreemptedBySameCgroup, Value = 10 },
            new() { CgroupId = 20, Kind = SampleKind.PreemptedByHost, Value = 1 },
        ];

        agg.OnRecord(SyntheticRing.Batch(samples));

        Assert.Equal(8, agg.Samples);
        Assert.Equal(0, agg.MalformedRecords);
        Assert.True(table.TryGet(10, out ContainerAccumulator a));
        Assert.Equal(2, a.RunQueue.Count);
        Assert.Equal(4_000ul, a.RunQueue.Sum);
        Assert.Equal((1, 2, 0), (a.PreemptedBySame, a.PreemptedByOther - 1, a.PreemptedByHost));
        Span<(ulong, long)> top = new (ulong, long)[4];
        Assert.Equal(2, a.Preemptors.CopyTop(top));
        Assert.Equal((20ul, 2L), top[0]);
        Assert.Equal((30ul, 1L), top[1]);
        Assert.True(table.TryGet(20, out ContainerAccumulator b));
        Assert.Equal((1L, 1L), (b.RunQueue.Count, b.PreemptedByHost));
    }

    [Fact]
    public void Throttle_records_add_events_and_time()
    {
        var table = new ContainerTable();
        var agg = new SampleAggregator(table);
        var t = new ThrottleRecord { Kind = RecordKind.Throttle, CgroupId = 7, ThrottledNs = 80_000_000, Cpu = 1 };
        byte[] bytes = new byte[Marshal.SizeOf<ThrottleRecord>()];
        MemoryMarshal.Write(bytes, in t);

        agg.OnRecord(bytes);
        agg.OnRecord(bytes);

        Assert.True(table.TryGet(7, out ContainerAccumulator a));
        Assert.Equal(2, a.ThrottleEvents);
        Assert.Equal(160_000_000ul, a.ThrottledNs);
    }

    [Theory]
    [InlineData(new byte[] { 1, 0 })]                                    // shorter than a kind
    [InlineData(new byte[] { 9, 0, 0, 0, 0, 0, 0, 0 })]                  // unknown kind
    [InlineData(new byte[] { 1, 0, 0, 0, 200, 0, 0, 0, 0, 0, 0, 0 })]    // count over the batch maximum
    [InlineData(new byte[] { 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })] // count larger than the record
    public void Malformed_records_are_counted_not_thrown(byte[] record)
    {
        var agg = new SampleAggregator(new ContainerTable());
        agg.OnRecord(record);
        Assert.Equal(1, agg.MalformedRecords);
        Assert.Equal(0, agg.Samples);
    }

    [Fact]
    public void Preemptor_table_counts_overflow_instead_of_dropping()
    {
        var table = new PreemptorTable();
        for (ulong id = 1; id <= PreemptorTable.Capacity + 5; id++)
            table.Record(id);
        table.Record(3);

        Span<(ulong, long)> top = new (ulong, long)[PreemptorTable.Capacity];
        int n = table.CopyTop(top);
        Assert.Equal(PreemptorTable.Capacity, n);
        Assert.Equal(5, table.Overflow);
        Assert.Equal((3ul, 2L), top[0]);
        Assert.Equal(PreemptorTable.Capacity + 1, top[..n].ToArray().Sum(e => e.Item2));
    }
}
