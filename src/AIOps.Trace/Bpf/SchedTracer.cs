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

    private static readonly string[] SchedEvents = ["wakeup", "wakeup_new", "switch"];
    private static readonly string[] AttachFamilies = ["btf", "raw", "tp"];
    private static readonly string[] ThrottleFamilies = ["fentry", "kprobe"];

    private readonly BpfObject _object;
    private readonly int _statsFd;
    private readonly KernelStats[] _perCpuStats;

    private SchedTracer(BpfObject obj, IEventReader events, string attach, string? throttle, string throttleNote, string btf)
    {
        _object = obj;
        Btf = btf;
        Attach = attach;
        ThrottleMechanism = throttle;
        ThrottleNote = throttleNote;
        Events = events;
        _statsFd = obj.MapFd("stats");
        _perCpuStats = new KernelStats[KernelInfo.PossibleCpus];
    }

    /// <summary>"tp_btf", "raw_tp" or "tracepoint".</summary>
    public string Attach { get; }

    /// <summary>The BTF CO-RE relocations were resolved against: /sys/kernel/btf/vmlinux or the external file (and the archive it came from).</summary>
    public string Btf { get; }

    /// <summary>"fentry" or "kprobe" when the eBPF throttle programs are attached; null otherwise.</summary>
    public string? ThrottleMechanism { get; }

    /// <summary>Why the throttle programs are (not) attached, for the snapshot and `doctor`.</summary>
    public string ThrottleNote { get; }

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
        foreach (string family in Families(options.Attach))
        {
            string attach = family switch { "btf" => "tp_btf", "raw" => "raw_tp", _ => "tracepoint" };
            var notes = new List<string>();
            foreach (string? throttle in Throttles(options.ThrottleHook))
            {
                if (throttle == "kprobe" && !KernelInfo.HasKprobes)
                {
                    if (options.ThrottleHook == ThrottleHook.Kprobe)
                        throw new BpfThrottleHookException("kprobe", "the kernel has no kprobes (CONFIG_KPROBES unset)",
                            "attach aiops_kprobe_throttle", Interop.Ensure.EOPNOTSUPP, null);
                    notes.Add("kprobe: kernel has no kprobes (CONFIG_KPROBES unset)");
                    continue;
                }
                BpfObject obj = BpfObject.Open(elf, transport.ObjectName, external?.Path);
                IEventReader? events = null;
                try
                {
                    Configure(obj, options, family, throttle);
                    transport.Configure(obj, options);
                    obj.Load();
                    events = transport.OpenReader(obj, options);
                    foreach (string ev in SchedEvents)
                        obj.Attach($"aiops_{family}_{ev}");
                    if (throttle is not null)
                    {
                        obj.Attach($"aiops_{throttle}_throttle");
                        obj.Attach($"aiops_{throttle}_unthrottle");
                    }
                    string note = throttle is null
                        ? (options.ThrottleHook == ThrottleHook.None ? "throttle hook none forced" : string.Join("; ", notes)) + "; cpu.stat is the source"
                        : $"{throttle} on throttle_cfs_rq/unthrottle_cfs_rq";
                    return new SchedTracer(obj, events, attach, throttle, note.TrimStart(';', ' '), btf);
                }
                catch (BpfException e)
                {
                    events?.Dispose();
                    obj.Dispose();
                    // A BTF that parses but does not describe this kernel fails every attempt alike.
                    if (external is not null && BtfProblem(e.Log) is string why)
                        throw new BtfFileException(external.Origin,
                            $"BTF file '{external.Origin}' does not fit this kernel's programs ({why}): expected the BTF of kernel {KernelInfo.Release}");
                    if (throttle is null)
                    {
                        first ??= e;
                        break;
                    }
                    // A forced hook has no fallback to another hook: the next attach family may
                    // still take it; if none does, say which hook the kernel refused and why.
                    if (options.ThrottleHook != ThrottleHook.Auto)
                    {
                        hookRefused ??= ForcedHookRefused(throttle, e);
                        break;
                    }
                    notes.Add($"{throttle}: {e.Message}");
                }
            }
        }
        throw (BpfException?)hookRefused ?? first!;
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

    /// <summary>The throttle programs to try, in order; null is "none" (cpu.stat alone).</summary>
    internal static IReadOnlyList<string?> Throttles(ThrottleHook hook) => hook switch
    {
        ThrottleHook.Fentry => ["fentry"],
        ThrottleHook.Kprobe => ["kprobe"],
        ThrottleHook.None => [null],
        _ => [.. ThrottleFamilies, null],
    };

    // Named as the hook, not as the refusal's kind: an EPERM here is not a missing privilege
    // (fentry is refused to root on locked-down kernels) and must not fall back to procfs.
    private static BpfThrottleHookException ForcedHookRefused(string hook, BpfException e) =>
        new(hook, $"the kernel refuses it ({e.Message})", e.Operation, e.Errno, e.Log);

    private static IEnumerable<string> Families(AttachMode mode) => mode switch
    {
        AttachMode.TpBtf => ["btf"],
        AttachMode.RawTp => ["raw"],
        AttachMode.Tracepoint => ["tp"],
        _ => KernelInfo.HasVmlinuxBtf ? AttachFamilies : ["raw", "tp"],
    };

    private static void Configure(BpfObject obj, TracerOptions options, string family, string? throttle)
    {
        foreach (string f in AttachFamilies)
            foreach (string ev in SchedEvents)
                obj.SetAutoload($"aiops_{f}_{ev}", f == family);
        foreach (string t in ThrottleFamilies)
        {
            obj.SetAutoload($"aiops_{t}_throttle", t == throttle);
            obj.SetAutoload($"aiops_{t}_unthrottle", t == throttle);
        }
        // Only the classic tracepoints need the per-task view map.
        if (family != "tp")
            obj.SetMaxEntries("task_views", 1);
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
