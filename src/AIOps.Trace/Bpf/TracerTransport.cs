using AIOps.Trace.Rings;

namespace AIOps.Trace.Bpf;

/// <summary>
/// The transport half of loading: which variant of the object to load (bpf/aiops_sched.bpf.c or
/// bpf/aiops_sched_perf.bpf.c, identical but for their output header), the settings only that
/// variant has, and the reader of its "events" map.
/// </summary>
internal sealed class TracerTransport
{
    public static readonly TracerTransport RingBuf = new(TierTransport.RingBuf, "aiops_sched.bpf.o");
    public static readonly TracerTransport PerfBuf = new(TierTransport.PerfBuf, "aiops_sched_perf.bpf.o");

    private TracerTransport(TierTransport kind, string objectName)
    {
        Kind = kind;
        ObjectName = objectName;
    }

    /// <summary>Which transport this is.</summary>
    public TierTransport Kind { get; }

    /// <summary>The embedded BPF object of this variant.</summary>
    public string ObjectName { get; }

    /// <summary>The forced transport, or the ring buffer where the kernel has one (5.8+), else perf buffers.</summary>
    public static TracerTransport Choose(TransportMode mode) => mode switch
    {
        TransportMode.RingBuf when !KernelInfo.HasRingBuffer =>
            throw new BpfNotSupportedException($"create a BPF ring buffer on kernel {KernelInfo.Release} (needs 5.8+; the perf transport works before)",
                Interop.Ensure.EOPNOTSUPP, null),
        TransportMode.RingBuf => RingBuf,
        TransportMode.PerfBuf => PerfBuf,
        _ => KernelInfo.HasRingBuffer ? RingBuf : PerfBuf,
    };

    /// <summary>Settings of this variant only, before load.</summary>
    public void Configure(BpfObject obj, TracerOptions options)
    {
        if (this != RingBuf)
            return; // the perf event array gets one slot per possible CPU from libbpf
        obj.SetMaxEntries("events", options.RingBytes);
        // Wake the consumer well before the ring fills: it polls anyway, this is the backstop.
        obj.SetConst("wakeup_bytes", (ulong)options.RingBytes / 4);
    }

    /// <summary>
    /// The reader of the loaded object's "events" map. Opened before the programs attach: a perf
    /// event array without its per-CPU events would drop (and count lost) the first records.
    /// </summary>
    public IEventReader OpenReader(BpfObject obj, TracerOptions options) => this == RingBuf
        ? new RingBuffer(obj.MapFd("events"))
        // Woken when a quarter of one CPU's ring waits, as the ring buffer is: few wake-ups, room to spare.
        : new PerfBuffer(obj.MapFd("events"), options.PerfBufferBytesPerCpu, options.PerfBufferBytesPerCpu / 4);

    /// <summary>The BPF object of this variant, carried inside this assembly.</summary>
    public byte[] EmbeddedObject()
    {
        using Stream? s = typeof(TracerTransport).Assembly.GetManifestResourceStream(ObjectName);
        if (s is null || s.Length == 0)
            throw new InvalidOperationException($"{ObjectName} is not embedded in {typeof(TracerTransport).Assembly.GetName().Name}: build with ./build.sh --target=Build");
        byte[] elf = new byte[s.Length];
        s.ReadExactly(elf);
        return elf;
    }
}
