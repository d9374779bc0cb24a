using System.Runtime.InteropServices;
using AIOps.Trace.Bpf;
using AIOps.Trace.Rings;
using AIOps.Trace.Testing;

namespace AIOps.Trace.Benchmarks;

/// <summary>The records every drain benchmark reads, and the baseline that reads them without a reader.</summary>
internal static class SampleWorkload
{
    /// <summary>
    /// Full batch records as the programs send them: 32 cgroups, one sample in four an involuntary
    /// preemption by another cgroup, waits log-uniform from 100 ns to about 120 ms. Seeded.
    /// </summary>
    public static List<byte[]> Batches(int count, int cpus = 1)
    {
        var rng = new Random(42);
        var samples = new Sample[BatchHeader.MaxSamples];
        var records = new List<byte[]>(count);
        for (int b = 0; b < count; b++)
        {
            for (int i = 0; i < samples.Length; i++)
            {
                ulong cgroup = 1000 + (ulong)rng.Next(32);
                samples[i] = rng.Next(4) == 0
                    ? new Sample { CgroupId = cgroup, Kind = SampleKind.PreemptedByOtherCgroup, Value = 1000 + (ulong)rng.Next(32) }
                    : new Sample { CgroupId = cgroup, Kind = SampleKind.RunQueue, Value = (ulong)(Math.Exp(rng.NextDouble() * 14) * 100) };
            }
            records.Add(SyntheticRing.Batch(samples, cpu: (uint)(b % cpus)));
        }
        return records;
    }

    /// <summary>The baseline: sums the samples of back-to-back batch records in a managed array.</summary>
    public static ulong SumFlat(ReadOnlySpan<byte> flat)
    {
        ulong sum = 0;
        while (flat.Length > 0)
        {
            BatchHeader h = MemoryMarshal.Read<BatchHeader>(flat);
            int size = 24 + (int)h.Count * 24;
            foreach (Sample s in MemoryMarshal.Cast<byte, Sample>(flat.Slice(24, size - 24)))
                sum += s.Value;
            flat = flat[size..];
        }
        return sum;
    }
}

/// <summary>A handler that only counts bytes: the reader's own cost.</summary>
internal struct CountingHandler : IRecordHandler
{
    public long Records;

    public void OnRecord(ReadOnlySpan<byte> record) => Records += record.Length;
}
