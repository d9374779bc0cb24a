using System.Reflection;
using AIOps.Trace.Rings;

namespace AIOps.Trace.Bpf;

/// <summary>
/// The loaded and attached scheduler programs of bpf/aiops_sched.bpf.c (or its perf buffer variant),
/// their transport and their counters. Chooses the transport, the attach mechanism and the
/// throttle source once, at load.
/// </summary>
public sealed class SchedTracer : IDisposable
{
    private const string FlushProgram = "aiops_flush";

    // The stamp-map families trace wake-ups (and exits, to drop a dead task's stamp); the
    // sched_info family reads the kernel's own enqueue stamp and traces switches alone
    // (bpf/sched_info.bpf.h).
    private static readonly string[] StampEvents = ["wakeup", "wakeup_new", "switch", "free"];
    private static readonly string[] SchedInfoEvents = ["switch"];
    private static readonly string[] AllFamilies = ["info", "btf", "raw", "tp"];
    private static readonly TierThrottleHook[] ThrottleHooks = [TierThrottleHook.Fentry, TierThrottleHook.Kprobe];

    private readonly BpfObject _object;
    private readonly int _statsFd;
    private readonly KernelStats[] _perCpuStats;

    private SchedTracer(BpfObject obj, IEventReader events, TierTransport transport, TierAttach attach, TierThrottleHook throttle, string throttleNote, string btf,
        IReadOnlyList<TierAttempt> attempts, string family)
    {
        _object = obj;
        WaitStamps = family == "info" ? "sched_info" : "wakeup";
        Btf = btf;
        Transport = transport;
        Attach = attach;
        ThrottleHook = throttle;
        ThrottleNote = throttleNote;
        Attempts = attempts;
        Events = events;
        _statsFd = obj.MapFd("stats");
        _perCpuStats = new KernelStats[KernelInfo.PossibleCpus];
    }

    /// <summary>The transport the programs write into (<see cref="Events"/> reads it).</summary>
    public TierTransport Transport { get; }

    /// <summary>How the scheduler programs are attached.</summary>
    public TierAttach Attach { get; }

    /// <summary>
    /// Where a run-queue wait starts: "sched_info" (the kernel's own enqueue stamp, read at the
    /// switch: no wake-up programs) or "wakeup" (our stamp at sched_wakeup, kept in a map).
    /// </summary>
    public string WaitStamps { get; }

    /// <summary>The per-CPU counters map (struct aiops_stats), for tests of the lookup.</summary>
    internal int StatsMapFd => _statsFd;

    /// <summary>The fd of one of the object's maps, for tests that read it.</summary>
    internal int MapFd(string map) => _object.MapFd(map);

    /// <summary>The BTF CO-RE relocations were resolved against: /sys/kernel/btf/vmlinux or the external file (and the archive it came from).</summary>
    public string Btf { get; }

    /// <summary>The hook of the attached eBPF throttle programs; None when cpu.stat alone gives throttling.</summary>
    public TierThrottleHook ThrottleHook { get; }

    /// <summary>Why the throttle programs are (not) attached, for the snapshot and `doctor`.</summary>
    public string ThrottleNote { get; }

    /// <summary>Each attach mechanism and throttle hook tried before this one loaded, with why it failed, then the one that did.</summary>
    public IReadOnlyList<TierAttempt> Attempts { get; }

    /// <summary>The transport the programs write batches and throttle records into (<see cref="IEventReader.Transport"/> names it).</summary>
    public IEventReader Events { get; }

    /// <summary>Number of attached links (programs).</summary>
    public int LinkCount => _object.LinkCount;

    /// <summary>Loads, configures and attaches the programs with the best mechanism the kernel allows.</summary>
    public static SchedTracer Load(TracerOptions options)
    {
        options.Validate();
        // CO-RE needs a description of this kernel's types: its own, or one given from outside.
        using ResolvedBtf? external = options.BtfPath is { } btfPath ? BtfFile.Resolve(btfPath, KernelInfo.Release) : null;
        if (external is null && !KernelInfo.HasVmlinuxBtf)
            throw new BpfNotSupportedException(
                $"load the CO-RE programs on kernel {KernelInfo.Release}: it has no BTF ({KernelInfo.VmlinuxBtfPath} is missing); give one with --btf PATH (a BTF file or a BTFHub archive directory)",
                Interop.Ensure.EOPNOTSUPP, null);
        string btf = external is null ? KernelInfo.VmlinuxBtfPath
            : external.Origin == external.Path ? external.Path : $"{external.Path} (from {external.Origin})";
        TracerTransport transport = TracerTransport.Choose(options.Transport);
        byte[] elf = transport.EmbeddedObject();
        BpfException? first = null;
        BpfThrottleHookException? hookRefused = null;
        var attempts = new List<TierAttempt>();
        foreach (TierAttach attach in TierPolicy.AttachOrder(options.Attach, KernelInfo.HasVmlinuxBtf))
        foreach (string family in FamiliesOf(attach, options.SchedInfoWaits))
        {
            int firstOfAttach = attempts.Count;
            foreach (TierThrottleHook throttle in TierPolicy.HookOrder(options.ThrottleHook))
            {
                if (throttle == TierThrottleHook.Kprobe && !KernelInfo.HasKprobes)
                {
                    if (options.ThrottleHook == Bpf.ThrottleHook.Kprobe)
                        throw new BpfThrottleHookException("kprobe", "the kernel has no kprobes (CONFIG_KPROBES unset)",
                            "attach aiops_kprobe_throttle", Interop.Ensure.EOPNOTSUPP, null);
                    attempts.Add(new TierAttempt(attach, throttle, "kernel has no kprobes (CONFIG_KPROBES unset)"));
                    continue;
                }
                BpfObject obj = BpfObject.Open(elf, transport.ObjectName, external?.Path);
                IEventReader? events = null;
                try
                {
                    Configure(obj, options, family, attach, throttle);
                    transport.Configure(obj, options);
                    obj.Load();
                    events = transport.OpenReader(obj, options);
                    foreach (string ev in ProgramsOf(family))
                        obj.Attach($"aiops_{family}_{ev}");
                    if (throttle != TierThrottleHook.None)
                    {
                        obj.Attach($"aiops_{throttle.Name()}_throttle");
                        obj.Attach($"aiops_{throttle.Name()}_unthrottle");
                    }
                    // Every window cut flushes each CPU's partial batch; a kernel that cannot do
                    // that would fail at the first cut, so find out now, once.
                    if (WindowFlushRefused(obj) is BpfException refused)
                    {
                        events.Dispose();
                        obj.Dispose();
                        throw new BpfWindowFlushException(refused.Operation, refused.Errno, refused.Log);
                    }
                    attempts.Add(new TierAttempt(attach, throttle, null));
                    string note = TierPolicy.ThrottleNote(throttle, options.ThrottleHook, attempts.Skip(firstOfAttach));
                    return new SchedTracer(obj, events, transport.Kind, attach, throttle, note, btf, attempts, family);
                }
                catch (BpfException e) when (e is not BpfWindowFlushException)
                {
                    events?.Dispose();
                    obj.Dispose();
                    attempts.Add(new TierAttempt(attach, throttle, e.Message));
                    // A BTF that parses but does not describe this kernel fails every attempt alike.
                    if (external is not null && BtfProblem(e.Log) is string why)
                        throw new BtfFileException(external.Origin,
                            $"BTF file '{external.Origin}' does not fit this kernel's programs ({why}): expected the BTF of kernel {KernelInfo.Release}");
                    if (throttle == TierThrottleHook.None)
                    {
                        first ??= e;
                        break;
                    }
                    // A forced hook has no fallback to another hook: the next attach mechanism may
                    // still take it; if none does, say which hook the kernel refused and why.
                    if (options.ThrottleHook != Bpf.ThrottleHook.Auto)
                    {
                        hookRefused ??= ForcedHookRefused(throttle.Name(), e);
                        break;
                    }
                }
            }
        }
        throw (BpfException?)hookRefused ?? first!;
    }

    // Runs the flush program once on the first online CPU: the refusal, or null when it ran.
    private static BpfException? WindowFlushRefused(BpfObject obj)
    {
        for (uint cpu = 0; cpu < (uint)KernelInfo.PossibleCpus; cpu++)
        {
            try
            {
                if (obj.RunOnCpu(FlushProgram, cpu))
                    return null;
            }
            catch (BpfException e)
            {
                return e;
            }
        }
        return null;
    }

    // libbpf's own words when the target BTF is unusable: a parse failure or CO-RE relocations it
    // cannot resolve. Not the kernel's own BTF missing for fentry: that attempt falls back as usual.
    internal static string? BtfProblem(string log) => log
        .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .FirstOrDefault(l => BtfFailures.Any(f => l.Contains(f, StringComparison.Ordinal)));

    // "no matching targets found" alone is not one: a bpf_core_field_exists fallback (task.bpf.h)
    // legitimately matches nothing on kernels that have the other spelling.
    private static readonly string[] BtfFailures =
        ["failed to parse target BTF", "failed to resolve CO-RE relocation", "failed to perform CO-RE relocations", "target candidate search failed"];

    // Named as the hook, not as the refusal's kind: an EPERM here is not a missing privilege
    // (fentry is refused to root on locked-down kernels) and must not fall back to procfs.
    private static BpfThrottleHookException ForcedHookRefused(string hook, BpfException e) =>
        new(hook, $"the kernel refuses it ({e.Message})", e.Operation, e.Errno, e.Log);

    // tp_btf first reads the kernel's own enqueue stamp where the kernel keeps one; a kernel whose
    // BTF lacks what it reads (runqueues, 5.10+) refuses that load and the stamp-map family is tried.
    private static IEnumerable<string> FamiliesOf(TierAttach attach, bool schedInfo) =>
        attach == TierAttach.TpBtf && schedInfo && KernelInfo.HasLiveSchedInfo ? ["info", "btf"] : [attach.ProgramFamily()];

    private static string[] ProgramsOf(string family) => family == "info" ? SchedInfoEvents : StampEvents;

    private static void Configure(BpfObject obj, TracerOptions options, string family, TierAttach attach, TierThrottleHook throttle)
    {
        foreach (string f in AllFamilies)
            foreach (string ev in ProgramsOf(f))
                obj.SetAutoload($"aiops_{f}_{ev}", f == family);
        foreach (TierThrottleHook t in ThrottleHooks)
        {
            obj.SetAutoload($"aiops_{t.Name()}_throttle", t == throttle);
            obj.SetAutoload($"aiops_{t.Name()}_unthrottle", t == throttle);
        }
        // Only the classic tracepoints need the per-task view map.
        if (attach != TierAttach.Tracepoint)
            obj.SetMaxEntries("task_views", 1);
        // The sched_info family keeps no stamps of its own.
        obj.SetMaxEntries("queued_at", family == "info" ? 1 : options.StampMapEntries);
        obj.SetConst("self_tgid", (uint)(options.IgnoredProcessId ?? Sources.HostPid.Of("/", out _)));
        obj.SetConst("flush_interval_ns", (ulong)(options.FlushInterval.Ticks * 100));
    }

    /// <summary>Sends every CPU's partial batch into the transport, so a drain after it sees everything up to now.</summary>
    public void FlushAllCpus()
    {
        for (uint cpu = 0; cpu < (uint)_perCpuStats.Length; cpu++)
            _object.RunOnCpu(FlushProgram, cpu);
    }

    /// <summary>The kernel-side counters, summed over CPUs (cumulative since load).</summary>
    public KernelStats ReadStats()
    {
        _object.LookupPerCpu<KernelStats>(_statsFd, _perCpuStats);
        KernelStats total = default;
        foreach (ref readonly KernelStats s in _perCpuStats.AsSpan())
            total.Add(s);
        return total;
    }

    public void Dispose()
    {
        Events.Dispose();
        _object.Dispose();
    }
}
