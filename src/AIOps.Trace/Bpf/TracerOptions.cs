namespace AIOps.Trace.Bpf;

/// <summary>How the scheduler programs attach to their tracepoints.</summary>
public enum AttachMode
{
    /// <summary>tp_btf where the kernel has it, else raw_tp.</summary>
    Auto,
    /// <summary>BTF-typed raw tracepoints (5.5+): direct reads of the task pointers.</summary>
    TpBtf,
    /// <summary>Raw tracepoints (4.17+).</summary>
    RawTp,
    /// <summary>Classic tracepoints (any BPF kernel; tracefs must be mounted): pids only, cgroups tracked per task.</summary>
    Tracepoint,
}

/// <summary>Load-time settings of the kernel side.</summary>
public sealed record TracerOptions
{
    /// <summary>Attach mechanism; <see cref="AttachMode.Auto"/> picks the best the kernel has.</summary>
    public AttachMode Attach { get; init; } = AttachMode.Auto;

    /// <summary>
    /// Ring buffer size in bytes (power of two, at least one page). 8 MiB holds about 2.5 s of
    /// samples at 600k switches/s, many times the poll interval.
    /// </summary>
    public uint RingBytes { get; init; } = 8u << 20;

    /// <summary>A CPU's partial batch older than this is sent without waiting to fill.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Try the eBPF throttle programs (fentry, then kprobe) on throttle_cfs_rq/unthrottle_cfs_rq.</summary>
    public bool TraceThrottling { get; init; } = true;

    /// <summary>Process whose threads the programs ignore: the engine's own (its wake-ups would trace themselves).</summary>
    public int IgnoredProcessId { get; init; } = Environment.ProcessId;

    internal void Validate()
    {
        if (RingBytes < 4096 || (RingBytes & (RingBytes - 1)) != 0)
            throw new ArgumentException($"RingBytes must be a power of two of at least 4096, got {RingBytes}", nameof(RingBytes));
        if (FlushInterval <= TimeSpan.Zero || FlushInterval > TimeSpan.FromSeconds(10))
            throw new ArgumentException($"FlushInterval must be in (0, 10s], got {FlushInterval}", nameof(FlushInterval));
    }
}
