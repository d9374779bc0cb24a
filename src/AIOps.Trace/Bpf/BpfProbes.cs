namespace AIOps.Trace.Bpf;

/// <summary>What one load of the tracer with default options showed.</summary>
/// <param name="Loaded">Whether it loaded and attached.</param>
/// <param name="Transport">"ringbuf" or "perfbuf" when loaded.</param>
/// <param name="Attach">"tp_btf", "raw_tp" or "tracepoint" when loaded.</param>
/// <param name="ThrottleMechanism">"fentry" or "kprobe" when the throttle programs attached.</param>
/// <param name="ThrottleNote">Why the throttle programs are (not) attached.</param>
/// <param name="Error">Why it did not load (one line).</param>
internal sealed record TracerTrial(bool Loaded, string Transport, string Attach, string? ThrottleMechanism, string ThrottleNote, string Error);

/// <summary>
/// The kernel-touching probes behind <see cref="KernelFeatures"/>, one seam tests replace: map
/// and program type probes and a helper probe (program type, helper id) (1 supported, 0 not,
/// -errno, or <see cref="KernelFeatures.ProbeUnavailable"/> without the shim) and one tracer load
/// (null when not tried). A null <paramref name="HelperProbe"/> reports every helper present.
/// </summary>
internal sealed record BpfProbes(Func<uint, int> MapType, Func<uint, int> ProgType, Func<TracerTrial?> LoadTracer,
    Func<uint, uint, int>? HelperProbe = null)
{
    public Func<uint, uint, int> Helper => HelperProbe ?? ((_, _) => 1);

    /// <summary>The real probes; the tracer is loaded with <paramref name="options"/> (its BTF, say).</summary>
    public static BpfProbes ForTracer(TracerOptions options) => new(
        t => Shim(() => Interop.Interop.ProbeMapType(t)),
        t => Shim(() => Interop.Interop.ProbeProgType(t)),
        () => TryLoadTracer(options),
        (p, h) => Shim(() => Interop.Interop.ProbeHelper(p, h)));

    private static int Shim(Func<int> probe)
    {
        try
        {
            return probe();
        }
        catch (DllNotFoundException)
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
            return new TracerTrial(true, tracer.Events.Transport, tracer.Attach, tracer.ThrottleMechanism, tracer.ThrottleNote, "");
        }
        catch (Exception e) when (e is BpfException or DllNotFoundException or InvalidOperationException)
        {
            return new TracerTrial(false, "none", "none", null, "", e.Message.ReplaceLineEndings(" "));
        }
    }
}
