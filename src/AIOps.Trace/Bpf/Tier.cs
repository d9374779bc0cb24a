namespace AIOps.Trace.Bpf;

/// <summary>How the engine sees the scheduler: eBPF programs, or sampling procfs.</summary>
public enum TierMode
{
    Ebpf,
    Procfs,
}

/// <summary>The transport the eBPF programs hand records to user space through.</summary>
public enum TierTransport
{
    /// <summary>No programs (procfs sampling).</summary>
    None,
    RingBuf,
    PerfBuf,
}

/// <summary>How the scheduler programs are attached, or procfs when none are.</summary>
public enum TierAttach
{
    Procfs,
    TpBtf,
    RawTp,
    Tracepoint,
}

/// <summary>The eBPF throttle programs attached to throttle_cfs_rq/unthrottle_cfs_rq, if any.</summary>
public enum TierThrottleHook
{
    None,
    Fentry,
    Kprobe,
}

/// <summary>Where throttling figures come from: cpu.stat alone, or cpu.stat plus the eBPF throttle events.</summary>
public enum TierThrottleSource
{
    Cgroupfs,
    EbpfAndCgroupfs,
}

/// <summary>
/// The names the CLI, the JSON documents and the metrics use for each tier value; fixed, as
/// they are part of those outputs.
/// </summary>
public static class TierNames
{
    public static string Name(this TierMode mode) => mode == TierMode.Ebpf ? "ebpf" : "procfs";

    public static string Name(this TierTransport transport) => transport switch
    {
        TierTransport.RingBuf => "ringbuf",
        TierTransport.PerfBuf => "perfbuf",
        _ => "none",
    };

    public static string Name(this TierAttach attach) => attach switch
    {
        TierAttach.TpBtf => "tp_btf",
        TierAttach.RawTp => "raw_tp",
        TierAttach.Tracepoint => "tracepoint",
        _ => "procfs",
    };

    public static string Name(this TierThrottleHook hook) => hook switch
    {
        TierThrottleHook.Fentry => "fentry",
        TierThrottleHook.Kprobe => "kprobe",
        _ => "none",
    };

    public static string Name(this TierThrottleSource source) => source == TierThrottleSource.EbpfAndCgroupfs ? "ebpf+cgroupfs" : "cgroupfs";

    /// <summary>The program-name part of the scheduler programs of an attach mechanism (aiops_&lt;family&gt;_switch in bpf/).</summary>
    internal static string ProgramFamily(this TierAttach attach) => attach switch
    {
        TierAttach.TpBtf => "btf",
        TierAttach.RawTp => "raw",
        TierAttach.Tracepoint => "tp",
        _ => throw new ArgumentOutOfRangeException(nameof(attach), attach, "procfs has no programs"),
    };
}

/// <summary>
/// One combination the loader tried: the attach mechanism and throttle hook, and why the kernel
/// refused it (<see cref="Failure"/> null: it loaded and attached).
/// </summary>
public sealed record TierAttempt(TierAttach Attach, TierThrottleHook Hook, string? Failure)
{
    public bool Succeeded => Failure is null;
}
