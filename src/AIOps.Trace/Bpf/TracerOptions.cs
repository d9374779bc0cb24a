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

/// <summary>How the programs hand records to user space.</summary>
public enum TransportMode
{
    /// <summary>The BPF ring buffer where the kernel has it (5.8+), else perf buffers.</summary>
    Auto,
    /// <summary>One BPF ring buffer shared by all CPUs (5.8+).</summary>
    RingBuf,
    /// <summary>One perf ring per CPU (BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4.4+).</summary>
    PerfBuf,
}

/// <summary>Which eBPF programs report CFS throttling (throttle_cfs_rq/unthrottle_cfs_rq); cpu.stat is read whatever this is.</summary>
public enum ThrottleHook
{
    /// <summary>fentry where the kernel allows it, else kprobe, else none (cpu.stat alone).</summary>
    Auto,
    /// <summary>fentry/fexit-style BTF trampolines (5.5+, needs the kernel's own BTF); fails the load when refused.</summary>
    Fentry,
    /// <summary>kprobes (needs CONFIG_KPROBES); fails the load when refused.</summary>
    Kprobe,
    /// <summary>No throttle programs: throttling comes from cpu.stat alone.</summary>
    None,
}

/// <summary>Load-time settings of the kernel side.</summary>
public sealed record TracerOptions
{
    /// <summary>Attach mechanism; <see cref="AttachMode.Auto"/> picks the best the kernel has.</summary>
    public AttachMode Attach { get; init; } = AttachMode.Auto;

    /// <summary>Transport; <see cref="TransportMode.Auto"/> picks the ring buffer where the kernel has one.</summary>
    public TransportMode Transport { get; init; } = TransportMode.Auto;

    /// <summary>
    /// Ring buffer size in bytes (power of two, at least one page). 8 MiB holds about 2.5 s of
    /// samples at 600k switches/s, many times the poll interval.
    /// </summary>
    public uint RingBytes { get; init; } = 8u << 20;

    /// <summary>
    /// Perf buffer size per CPU in bytes (a power-of-two number of pages), used by the perf
    /// transport. 1 MiB holds about 70 ms of one CPU's samples at 600k switches/s; the reader is
    /// woken when a quarter of it waits, so it drains every 20 ms or so at that rate.
    /// </summary>
    public uint PerfBufferBytesPerCpu { get; init; } = 1u << 20;

    /// <summary>A CPU's partial batch older than this is sent without waiting to fill.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// The eBPF throttle programs on throttle_cfs_rq/unthrottle_cfs_rq: <see cref="ThrottleHook.Auto"/>
    /// tries fentry, then kprobe, then goes without; a forced hook the kernel refuses fails the load.
    /// </summary>
    public ThrottleHook ThrottleHook { get; init; } = ThrottleHook.Auto;

    /// <summary>
    /// External BTF for CO-RE relocations (libbpf's btf_custom_path), for kernels without
    /// /sys/kernel/btf/vmlinux, or to force one: a BTF file, or a directory laid out as BTFHub's
    /// archive from which the running kernel's <c>&lt;uname -r&gt;.btf[.tar.xz]</c> is taken
    /// (see <see cref="BtfFile"/>). Null uses the kernel's own. tp_btf and fentry still need the
    /// kernel's own BTF; without it the loader attaches with raw_tp or classic tracepoints.
    /// </summary>
    public string? BtfPath { get; init; }

    /// <summary>
    /// Process whose threads the programs ignore, as the host numbers it (the programs compare
    /// <c>task-&gt;tgid</c>); null is the engine's own (its wake-ups would trace themselves), found
    /// by <see cref="Sources.HostPid"/> under the engine's host root.
    /// </summary>
    public int? IgnoredProcessId { get; init; }

    /// <summary>
    /// Whether tp_btf may time waits from the kernel's own enqueue stamps (sched_info, see
    /// bpf/sched_info.bpf.h) instead of wake-up programs and a stamp map. Off only to test the
    /// stamp-map path of tp_btf that kernels without live sched_info use.
    /// </summary>
    internal bool SchedInfoWaits { get; init; } = true;

    /// <summary>Entries of the wake-up stamp map (queued_at); smaller only in tests that fill it.</summary>
    internal uint StampMapEntries { get; init; } = 65536;

    internal void Validate()
    {
        if (RingBytes < 4096 || (RingBytes & (RingBytes - 1)) != 0)
            throw new ArgumentException($"RingBytes must be a power of two of at least 4096, got {RingBytes}", nameof(RingBytes));
        uint page = (uint)Environment.SystemPageSize;
        if (PerfBufferBytesPerCpu < page || (PerfBufferBytesPerCpu & (PerfBufferBytesPerCpu - 1)) != 0)
            throw new ArgumentException($"PerfBufferBytesPerCpu must be a power of two of at least {page}, got {PerfBufferBytesPerCpu}", nameof(PerfBufferBytesPerCpu));
        if (FlushInterval <= TimeSpan.Zero || FlushInterval > TimeSpan.FromSeconds(10))
            throw new ArgumentException($"FlushInterval must be in (0, 10s], got {FlushInterval}", nameof(FlushInterval));
    }
}
