using System.Runtime.InteropServices;

namespace AIOps.Trace.Bpf;

// C# mirrors of bpf/aiops_sched.h. Sizes and offsets are checked against the header by
// tests/AIOps.Trace.Tests/Kernel/StructLayoutTests.cs, which compiles _Static_asserts.

/// <summary>enum aiops_record_kind: the first u32 of every record says which struct it is.</summary>
public enum RecordKind : uint
{
    Batch = 1,
    Throttle = 2,
}

/// <summary>enum aiops_sample_kind.</summary>
public enum SampleKind : uint
{
    RunQueue = 1,
    PreemptedBySameCgroup = 2,
    PreemptedByOtherCgroup = 3,
    PreemptedByHost = 4,
}

/// <summary>struct aiops_sample: one run-queue wait or one involuntary preemption.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Sample
{
    public ulong CgroupId;
    /// <summary>Run-queue wait in ns, or the preemptor's cgroup id.</summary>
    public ulong Value;
    public SampleKind Kind;
    public uint Pid;
}

/// <summary>struct aiops_batch_header; <see cref="Count"/> samples follow it.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct BatchHeader
{
    public const int MaxSamples = 128; // AIOPS_BATCH_SAMPLES

    public RecordKind Kind;
    public uint Count;
    public uint Cpu;
    public uint Reserved;
    public ulong FirstNs;
}

/// <summary>struct aiops_throttle_record: one CFS bandwidth throttle of a cgroup on one CPU.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ThrottleRecord
{
    public RecordKind Kind;
    public uint Cpu;
    public ulong CgroupId;
    public ulong ThrottledNs;
    public ulong EndNs;
}

/// <summary>struct aiops_stats: per-CPU counters, summed over CPUs by the reader.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KernelStats
{
    public ulong Samples;
    public ulong Batches;
    public ulong LostBatches;
    public ulong LostSamples;
    public ulong NoWakeupStamp;
    public ulong ClockBackwards;
    public ulong StampMapFull;
    public ulong Throttles;
    public ulong LostThrottles;
    public ulong UnknownCgroup;
    public ulong ThrottleMapFull;

    /// <summary>
    /// Events the programs saw and did not measure although they were delivered: switch-ins
    /// without a stamp, stamps later than the switch, wake-ups not stamped (map full), waits of an
    /// unknown cgroup, throttles not timed (map full). The sibling of the lost events (not delivered).
    /// </summary>
    public readonly ulong Skipped => NoWakeupStamp + ClockBackwards + StampMapFull + UnknownCgroup + ThrottleMapFull;

    internal void Add(in KernelStats o)
    {
        ThrottleMapFull += o.ThrottleMapFull;
        Samples += o.Samples; Batches += o.Batches; LostBatches += o.LostBatches; LostSamples += o.LostSamples;
        NoWakeupStamp += o.NoWakeupStamp; ClockBackwards += o.ClockBackwards; StampMapFull += o.StampMapFull;
        Throttles += o.Throttles; LostThrottles += o.LostThrottles; UnknownCgroup += o.UnknownCgroup;
    }
}
