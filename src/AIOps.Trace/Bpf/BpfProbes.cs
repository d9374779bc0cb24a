namespace AIOps.Trace.Bpf;

/// <summary>What one load of the tracer with default options showed.</summary>
/// <param name="Loaded">Whether it loaded and attached (and ran its window flush).</param>
/// <param name="Transport">The transport when loaded.</param>
/// <param name="Attach">The attach mechanism when loaded.</param>
/// <param name="ThrottleHook">The hook of the attached throttle programs (None: cpu.stat alone).</param>
/// <param name="ThrottleNote">Why the throttle programs are (not) attached.</param>
/// <param name="Error">Why it did not load (one line).</param>
internal sealed record TracerTrial(bool Loaded, TierTransport Transport, TierAttach Attach, TierThrottleHook ThrottleHook, string ThrottleNote, string Error)
{
    /// <summary>Each attach mechanism and throttle hook tried, with why it failed.</summary>
    public IReadOnlyList<TierAttempt> Attempts { get; init; } = [];

    /// <summary>Set when the programs loaded but the kernel refused to run the flush program on a given CPU.</summary>
    public bool WindowFlushRefused { get; init; }

    public static TracerTrial Failed(string error, bool windowFlushRefused = false) =>
        new(false, TierTransport.None, TierAttach.Procfs, TierThrottleHook.None, "", error) { WindowFlushRefused = windowFlushRefused };
}

/// <summary>
/// The kernel-touching probes behind <see cref="KernelFeatures"/>, one seam tests replace: map
/// and program type probes and a helper probe (program type, helper id) (1 supported, 0 not,
/// -errno, or <see cref="KernelFeatures.ProbeUnavailable"/> without the shim) and one tracer load
/// (null when not tried). A null <paramref name="HelperProbe"/> reports every helper present.
/// </summary>
/// <paramref name="WindowFlushProbe"/> runs a raw_tp program on a given CPU (BPF_F_TEST_RUN_ON_CPU,
/// 5.10+): 1, 0 refused, -errno; null reports it working.
internal sealed record BpfProbes(Func<uint, int> MapType, Func<uint, int> ProgType, Func<TracerTrial?> LoadTracer,
    Func<uint, uint, int>? HelperProbe = null, Func<int>? WindowFlushProbe = null)
{
    public Func<uint, uint, int> Helper => HelperProbe ?? ((_, _) => 1);

    public Func<int> WindowFlush => WindowFlushProbe ?? (() => 1);

    /// <summary>The real probes; the tracer is loaded with <paramref name="options"/> (its BTF, say).</summary>
    public static BpfProbes ForTracer(TracerOptions options) => new(
        t => Shim(() => Interop.Interop.ProbeMapType(t)),
        t => Shim(() => Interop.Interop.ProbeProgType(t)),
        () => TryLoadTracer(options),
        (p, h) => Shim(() => Interop.Interop.ProbeHelper(p, h)),
        () => Shim(Interop.Interop.ProbeTestRunOnCpu));

    private static int Shim(Func<int> probe)
    {
        try
        {
            return probe();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return KernelFeatures.ProbeUnavailable;
        }
    }

    /// <summary>
    /// The honest probe of fentry, tp_btf and the transport: load what `snapshot` would load,
    /// note what the loader chose, unload.
    /// </summary>
    private static TracerTrial TryLoadTracer(TracerOptions options)
    {
        try
        {
            using SchedTracer tracer = SchedTracer.Load(options);
            return new TracerTrial(true, tracer.Transport, tracer.Attach, tracer.ThrottleHook, tracer.ThrottleNote, "") { Attempts = tracer.Attempts };
        }
        catch (Exception e) when (e is BpfException or DllNotFoundException or InvalidOperationException)
        {
            return TracerTrial.Failed(e.Message.ReplaceLineEndings(" "), e is BpfWindowFlushException);
        }
    }
}
