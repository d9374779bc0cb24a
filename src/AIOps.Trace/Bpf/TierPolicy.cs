namespace AIOps.Trace.Bpf;

/// <summary>
/// What `snapshot` in auto mode would use here: the eBPF tier or the procfs sampler, why, what
/// that tier cannot measure, what was tried on the way (<see cref="Attempts"/>), and how it learns
/// a task's cgroup (<paramref name="CgroupId"/>: "co-re" or "procfs", <paramref name="CgroupIdWhy"/> says why).
/// </summary>
public sealed record TierChoice(TierMode Mode, TierTransport Transport, TierAttach Attach, TierThrottleSource ThrottleSource, string Why,
    IReadOnlyList<string> CannotMeasure, string CgroupId = "procfs", string CgroupIdWhy = "/proc/<pid>/cgroup, the cgroup directory's inode",
    TierThrottleHook ThrottleHook = TierThrottleHook.None)
{
    /// <summary>Each attach mechanism and throttle hook the loader tried, with why it failed.</summary>
    public IReadOnlyList<TierAttempt> Attempts { get; init; } = [];
}

/// <summary>
/// The one tier policy, consulted by the loader (<see cref="SchedTracer"/>), doctor
/// (<see cref="KernelFeatures"/>), the engine's source factory and the CLI: the order in which
/// attach mechanisms and throttle hooks are tried, which failures make auto mode sample procfs,
/// what each tier cannot measure, and how a prediction from probes picks a tier.
/// </summary>
public static class TierPolicy
{
    /// <summary>
    /// Cutting a window runs the flush program on each CPU with BPF_PROG_TEST_RUN and
    /// BPF_F_TEST_RUN_ON_CPU: raw_tp test runs and that flag came together in Linux 5.10
    /// (commit 1b4d60ec162f, "bpf: Enable BPF_PROG_TEST_RUN for raw_tracepoint"). Below it the
    /// programs load, but no window can be cut.
    /// </summary>
    public const string WindowFlushKernel = "5.10";

    /// <summary>The attach mechanisms to try, best first.</summary>
    public static IReadOnlyList<TierAttach> AttachOrder(AttachMode mode, bool kernelBtf) => mode switch
    {
        AttachMode.TpBtf => [TierAttach.TpBtf],
        AttachMode.RawTp => [TierAttach.RawTp],
        AttachMode.Tracepoint => [TierAttach.Tracepoint],
        // tp_btf needs the kernel's own BTF; an external one serves CO-RE only.
        _ => kernelBtf ? [TierAttach.TpBtf, TierAttach.RawTp, TierAttach.Tracepoint] : [TierAttach.RawTp, TierAttach.Tracepoint],
    };

    /// <summary>The throttle hooks to try for each attach mechanism, best first; None is cpu.stat alone.</summary>
    public static IReadOnlyList<TierThrottleHook> HookOrder(ThrottleHook hook) => hook switch
    {
        ThrottleHook.Fentry => [TierThrottleHook.Fentry],
        ThrottleHook.Kprobe => [TierThrottleHook.Kprobe],
        ThrottleHook.None => [TierThrottleHook.None],
        _ => [TierThrottleHook.Fentry, TierThrottleHook.Kprobe, TierThrottleHook.None],
    };

    public static TierThrottleSource SourceOf(TierThrottleHook hook) =>
        hook == TierThrottleHook.None ? TierThrottleSource.Cgroupfs : TierThrottleSource.EbpfAndCgroupfs;

    /// <summary>
    /// Whether auto mode samples procfs after this load failure: no privileges, no BPF syscall or
    /// feature, no shim, or a kernel that cannot cut windows. Anything else (a verifier
    /// rejection, a forced throttle hook refused) is an error the user must see.
    /// </summary>
    public static bool FallsBackToProcfs(Exception e) =>
        e is BpfPermissionException or BpfNotSupportedException or BpfWindowFlushException or DllNotFoundException;

    /// <summary>Why eBPF cannot load here before anything is tried (no BTF, no privileges), or null when it may.</summary>
    /// <param name="effectiveCapabilities">CapEff of /proc/self/status; ignored for a privileged process.</param>
    public static string? MissingForTracing(bool kernelBtf, string? btfPath, bool privilegedProcess, ulong effectiveCapabilities)
    {
        if (!kernelBtf && btfPath is null)
            return $"this kernel has no BTF ({KernelInfo.VmlinuxBtfPath} is missing): CO-RE programs cannot load without --btf PATH";
        if (privilegedProcess)
            return null;
        const int CapPerfmon = 38, CapBpf = 39, CapSysAdmin = 21;
        bool has(int cap) => (effectiveCapabilities & (1UL << cap)) != 0;
        if (!has(CapSysAdmin) && !(has(CapBpf) && has(CapPerfmon)))
            return "tracing needs root, or CAP_BPF and CAP_PERFMON: run with sudo or grant the capabilities";
        return null;
    }

    /// <summary>
    /// The snapshot's throttle note for the attach mechanism that loaded: the hook and where it is
    /// attached, or each hook tried and why it failed, then "cpu.stat is the source".
    /// </summary>
    public static string ThrottleNote(TierThrottleHook chosen, ThrottleHook asked, IEnumerable<TierAttempt> attempts)
    {
        if (chosen != TierThrottleHook.None)
            return $"{chosen.Name()} on throttle_cfs_rq/unthrottle_cfs_rq";
        string tried = asked == ThrottleHook.None
            ? "throttle hook none forced"
            : string.Join("; ", attempts.Where(a => !a.Succeeded && a.Hook != TierThrottleHook.None).Select(a => $"{a.Hook.Name()}: {a.Failure}"));
        return (tried + "; cpu.stat is the source").TrimStart(';', ' ');
    }

    /// <summary>An eBPF tier and what it cannot measure.</summary>
    public static TierChoice Ebpf(TierTransport transport, TierAttach attach, TierThrottleHook hook, string why)
    {
        var cannot = new List<string>();
        if (hook == TierThrottleHook.None)
            cannot.Add("per-CPU throttle events (no fentry or kprobe on throttle_cfs_rq): throttling only from cpu.stat");
        if (attach == TierAttach.Tracepoint)
            cannot.Add("the cgroup of a task not yet seen leaving a CPU (classic tracepoints carry pids only): such waits are counted as unknown_cgroup");
        return new TierChoice(TierMode.Ebpf, transport, attach, SourceOf(hook), why, cannot) { ThrottleHook = hook };
    }

    /// <summary>The procfs sampler and what it cannot measure.</summary>
    public static TierChoice Procfs(string why) => new(TierMode.Procfs, TierTransport.None, TierAttach.Procfs, TierThrottleSource.Cgroupfs, why,
    [
        "single run-queue waits: percentiles are of per-task means over each sampling interval",
        "who preempted: involuntary preemptions are unattributed",
        "the last interval of tasks that exit between samples",
        "per-CPU throttle events: throttling only from cpu.stat",
    ]);

    /// <summary>
    /// The tier predicted from feature probes alone (the tracer was not loaded), in the order the
    /// loader tries: the bpf syscall, BTF, a window flush, a transport, an attach mechanism, a
    /// throttle hook.
    /// </summary>
    public static TierChoice Predict(FeatureCheck syscall, FeatureCheck btf, FeatureCheck windowFlush, FeatureCheck ring, FeatureCheck perf,
        FeatureCheck tpBtf, FeatureCheck raw, FeatureCheck tracepoint, FeatureCheck fentry, FeatureCheck kprobes)
    {
        if (!syscall.Available)
            return Procfs("the bpf syscall is not usable: " + syscall.Detail);
        if (!btf.Available)
            return Procfs($"no BTF for the CO-RE programs ({KernelInfo.VmlinuxBtfPath} is missing and no --btf was given)");
        if (!windowFlush.Available)
            return Procfs("the programs would load, but no window could be cut: " + windowFlush.Detail);
        TierTransport? t = ring.Available ? TierTransport.RingBuf : perf.Available ? TierTransport.PerfBuf : null;
        TierAttach? a = tpBtf.Available ? TierAttach.TpBtf : raw.Available ? TierAttach.RawTp : tracepoint.Available ? TierAttach.Tracepoint : null;
        if (t is not TierTransport transport || a is not TierAttach attach)
            return Procfs(t is null ? "no ring buffer or perf event array" : "no attach mechanism for the scheduler tracepoints");
        TierThrottleHook hook = fentry.Available ? TierThrottleHook.Fentry : kprobes.Available ? TierThrottleHook.Kprobe : TierThrottleHook.None;
        return Ebpf(transport, attach, hook, "predicted from the probes (the tracer was not loaded)");
    }
}
