using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Bpf;

/// <summary>One probed feature: whether it is usable here, and why (not).</summary>
public sealed record FeatureCheck(string Name, bool Available, string Detail);

/// <summary>A cgroup controller and where its hierarchy is mounted.</summary>
public sealed record ControllerMount(string Controller, int Version, string MountPoint);

/// <summary>
/// Everything `aiops-trace doctor` reports: the kernel features the tracer could use, the cgroup
/// layout, the capabilities held and the tier auto mode picks. Files are read under a root
/// (tests point it at a fake tree); BPF probes go through <see cref="BpfProbes"/>.
/// </summary>
public sealed record KernelFeatures(
    string Release,
    FeatureCheck Btf,
    FeatureCheck BpfSyscall,
    FeatureCheck RingBuffer,
    FeatureCheck PerfEventArray,
    FeatureCheck TpBtf,
    FeatureCheck RawTp,
    FeatureCheck Tracepoint,
    FeatureCheck Tracefs,
    FeatureCheck Kprobes,
    FeatureCheck Fentry,
    FeatureCheck CgroupIdHelper,
    FeatureCheck WindowFlush,
    string CgroupLayout,
    IReadOnlyList<ControllerMount> Controllers,
    IReadOnlyList<FeatureCheck> Capabilities,
    TierChoice Tier)
{
    // Program and map types, include/uapi/linux/bpf.h (fixed ABI).
    internal const uint ProgTracepoint = 5, ProgRawTracepoint = 17, ProgTracing = 26;
    internal const uint MapArray = 2, MapPerfEventArray = 4, MapRingBuf = 27;

    // enum bpf_func_id, include/uapi/linux/bpf.h: bpf_get_current_cgroup_id (4.18).
    internal const uint HelperGetCurrentCgroupId = 80;

    // Capability bits, include/uapi/linux/capability.h.
    private static readonly (string Name, int Bit)[] CapabilityBits =
        [("CAP_SYS_ADMIN", 21), ("CAP_SYS_RESOURCE", 24), ("CAP_PERFMON", 38), ("CAP_BPF", 39)];

    /// <summary>The feature checks in the order doctor prints them.</summary>
    public IReadOnlyList<FeatureCheck> Features => [Btf, BpfSyscall, RingBuffer, PerfEventArray, TpBtf, RawTp, Tracepoint, Tracefs, Kprobes, Fentry, CgroupIdHelper, WindowFlush];

    /// <summary>
    /// Probes this machine. Loads (and unloads) the tracer once to learn what the kernel really
    /// accepts, with the external BTF <paramref name="btfPath"/> when given (see
    /// <see cref="TracerOptions.BtfPath"/>; a bad one throws <see cref="BtfFileException"/>).
    /// </summary>
    public static KernelFeatures Probe(string root = "/", string? btfPath = null) =>
        Probe(root, BpfProbes.ForTracer(new TracerOptions { BtfPath = btfPath }), btfPath);

    internal static KernelFeatures Probe(string root, BpfProbes probes, string? btfPath = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        string At(string path) => root.Trim('/').Length == 0 ? path : root.TrimEnd('/') + path;

        string release = ReadText(At("/proc/sys/kernel/osrelease"))?.Trim() ?? "unknown";
        IReadOnlyList<FeatureCheck> caps = ReadCapabilities(At("/proc/self/status"));
        bool privileged = caps.Any(c => c.Available && c.Name is "CAP_SYS_ADMIN" or "CAP_BPF");

        // tp_btf and fentry need the kernel's own BTF; CO-RE (every tier) needs it or an external one.
        bool btf = File.Exists(At(KernelInfo.VmlinuxBtfPath));
        FeatureCheck btfCheck = BtfCheck(btf, btfPath, release);

        FeatureCheck Map(string name, uint type, string what) => ProbeResult(name, probes.MapType(type), what, privileged);
        FeatureCheck Prog(string name, uint type, string what) => ProbeResult(name, probes.ProgType(type), what, privileged);

        FeatureCheck syscall = Map("bpf_syscall", MapArray, "bpf(BPF_MAP_CREATE) of an array map");
        FeatureCheck ring = Map("ringbuf", MapRingBuf, "BPF_MAP_TYPE_RINGBUF (5.8+)");
        FeatureCheck perf = Map("perf_event_array", MapPerfEventArray, "BPF_MAP_TYPE_PERF_EVENT_ARRAY (4.3+)");
        FeatureCheck raw = Prog("raw_tp", ProgRawTracepoint, "BPF_PROG_TYPE_RAW_TRACEPOINT (4.17+)");
        FeatureCheck helper = ProbeResult("cgroup_id_helper", probes.Helper(ProgTracepoint, HelperGetCurrentCgroupId),
            "bpf_get_current_cgroup_id (4.18+)", privileged);

        string? tracefsDir = new[] { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" }.FirstOrDefault(d => Directory.Exists(At(d + "/events")));
        var tracefs = new FeatureCheck("tracefs", tracefsDir is not null, tracefsDir is not null
            ? $"mounted at {tracefsDir}"
            : "neither /sys/kernel/tracing nor /sys/kernel/debug/tracing is mounted (mount -t tracefs tracefs /sys/kernel/tracing)");
        FeatureCheck tpProg = Prog("tracepoint", ProgTracepoint, "BPF_PROG_TYPE_TRACEPOINT");
        FeatureCheck tracepoint = tpProg.Available && !tracefs.Available
            ? tpProg with { Available = false, Detail = "the program type loads, but tracefs is not mounted" }
            : tpProg;

        bool kprobes = Directory.Exists(At("/sys/bus/event_source/devices/kprobe"));
        var kprobeCheck = new FeatureCheck("kprobes", kprobes, kprobes
            ? "kprobe PMU present"
            : "/sys/bus/event_source/devices/kprobe is missing (CONFIG_KPROBES unset)");

        FeatureCheck flush = WindowFlushCheck(probes.WindowFlush(), privileged);
        TracerTrial? trial = probes.LoadTracer();
        FeatureCheck tpBtf = TpBtfCheck(btf, trial, Prog("tp_btf", ProgTracing, "BPF_PROG_TYPE_TRACING"));
        FeatureCheck fentry = FentryCheck(btf, trial);

        (string layout, IReadOnlyList<ControllerMount> controllers) = ReadCgroups(root);
        TierChoice tier = trial switch
        {
            { Loaded: false, WindowFlushRefused: true } => TierPolicy.Procfs("the eBPF programs load, but " + trial.Error),
            { Loaded: false } => TierPolicy.Procfs("eBPF did not load: " + trial.Error),
            { Loaded: true } => TierPolicy.Ebpf(trial.Transport, trial.Attach, trial.ThrottleHook, "the tracer loaded and attached") with { Attempts = trial.Attempts },
            // Not loaded (tests): predict from the probes in the order the loader tries.
            null => TierPolicy.Predict(syscall, btfCheck, flush, ring, perf, tpBtf, raw, tracepoint, fentry, kprobeCheck),
        };
        if (tier.Mode == TierMode.Ebpf)
        {
            (string source, string why) = ChooseCgroupId(helper, layout);
            tier = tier with { CgroupId = source, CgroupIdWhy = why };
        }
        return new KernelFeatures(release, btfCheck, syscall, ring, perf, tpBtf, raw, tracepoint, tracefs, kprobeCheck, fentry, helper, flush,
            layout, controllers, caps, tier);
    }

    private static FeatureCheck BtfCheck(bool kernelBtf, string? btfPath, string release)
    {
        if (btfPath is not null)
        {
            using ResolvedBtf external = BtfFile.Resolve(btfPath, release);
            string file = external.Origin == external.Path ? external.Path : $"{external.Origin} (extracted for the load)";
            return new FeatureCheck("btf", true, kernelBtf
                ? $"external: {file} (--btf), used for CO-RE instead of {KernelInfo.VmlinuxBtfPath}"
                : $"external: {file} (--btf; {KernelInfo.VmlinuxBtfPath} is missing, so no tp_btf or fentry)");
        }
        return kernelBtf
            ? new FeatureCheck("btf", true, KernelInfo.VmlinuxBtfPath)
            : new FeatureCheck("btf", false,
                $"{KernelInfo.VmlinuxBtfPath} is missing (CONFIG_DEBUG_INFO_BTF unset): the CO-RE programs need --btf PATH (a BTF file or a BTFHub archive directory), else procfs sampling; no tp_btf or fentry");
    }

    /// <summary>
    /// How the programs learn a task's cgroup. Always from the task through CO-RE
    /// (bpf/task.bpf.h: <c>task-&gt;sched_task_group-&gt;css.cgroup-&gt;kn-&gt;id</c>); the reason
    /// depends on what the helper would have given.
    /// </summary>
    internal static (string Source, string Why) ChooseCgroupId(FeatureCheck helper, string layout)
    {
        const string how = "read from the task through CO-RE (task->sched_task_group->css.cgroup->kn->id)";
        if (!helper.Available)
            return ("co-re", $"bpf_get_current_cgroup_id is missing (kernels before 4.18): {how}");
        if (layout is "v1" or "hybrid")
            return ("co-re", $"bpf_get_current_cgroup_id names the unified hierarchy's cgroup, but the cpu controller is on cgroup v1 here: {how}");
        return ("co-re", $"{how}: the cpu controller's cgroup, which bpf_get_current_cgroup_id does not give for a cgroup without the cpu controller enabled");
    }

    // The kernel's answer to running a raw_tp program on a given CPU, which every window cut does.
    private static FeatureCheck WindowFlushCheck(int result, bool privileged)
    {
        const string what = "BPF_PROG_TEST_RUN of a raw_tp program on a given CPU (BPF_F_TEST_RUN_ON_CPU, " + TierPolicy.WindowFlushKernel + "+), which cuts each window";
        FeatureCheck check = ProbeResult("window_flush", result, what, privileged);
        return check.Available || result == ProbeUnavailable
            ? check
            : check with { Detail = check.Detail + $"; eBPF windows cannot be cut on this kernel, so auto mode samples procfs" };
    }

    private static FeatureCheck ProbeResult(string name, int result, string what, bool privileged) => result switch
    {
        1 => new FeatureCheck(name, true, what),
        // libbpf reports a refused probe as 0 whatever the errno, so without privileges 0 says nothing.
        0 when !privileged => new FeatureCheck(name, false, $"{what}: refused, and this process lacks CAP_BPF and CAP_SYS_ADMIN"),
        0 => new FeatureCheck(name, false, $"{what}: the kernel refuses it"),
        int e when e == ProbeUnavailable => new FeatureCheck(name, false, "libaiops_shim.so (libbpf) could not be loaded"),
        int e => new FeatureCheck(name, false, $"{what}: probe failed with {Interop.Ensure.ErrnoName(-e)}"),
    };

    internal const int ProbeUnavailable = int.MinValue;

    private static FeatureCheck TpBtfCheck(bool btf, TracerTrial? trial, FeatureCheck prog)
    {
        if (!btf)
            return new FeatureCheck("tp_btf", false, "no (needs BTF)");
        if (trial is { Loaded: true })
            return trial.Attach == TierAttach.TpBtf
                ? new FeatureCheck("tp_btf", true, "the tracer attached with tp_btf")
                : new FeatureCheck("tp_btf", false, $"the tracer fell back to {trial.Attach.Name()}");
        // libbpf probes BPF_PROG_TYPE_TRACING as an fentry program, which some kernels refuse
        // while tp_btf loads: without a tracer load the prog-type probe is only a hint.
        return prog with { Detail = prog.Detail + " (prog-type probe; the tracer was not loaded)" };
    }

    private static FeatureCheck FentryCheck(bool btf, TracerTrial? trial)
    {
        if (!btf)
            return new FeatureCheck("fentry", false, "no (needs BTF)");
        if (trial is null)
            return new FeatureCheck("fentry", false, "not probed (the tracer was not loaded)");
        if (!trial.Loaded)
            return new FeatureCheck("fentry", false, "not probed: the tracer did not load (" + trial.Error + ")");
        if (trial.ThrottleHook == TierThrottleHook.Fentry)
            return new FeatureCheck("fentry", true, trial.ThrottleNote);
        TierAttempt? refused = trial.Attempts.FirstOrDefault(a => a.Hook == TierThrottleHook.Fentry && !a.Succeeded);
        return new FeatureCheck("fentry", false, refused is null ? trial.ThrottleNote : $"fentry: {refused.Failure}");
    }

    private static IReadOnlyList<FeatureCheck> ReadCapabilities(string statusPath)
    {
        ulong? eff = null;
        foreach (string line in (ReadText(statusPath) ?? "").Split('\n'))
            if (line.StartsWith("CapEff:", StringComparison.Ordinal) && ulong.TryParse(line.AsSpan(7).Trim(), System.Globalization.NumberStyles.HexNumber, null, out ulong v))
                eff = v;
        return CapabilityBits.Select(c => new FeatureCheck(c.Name, eff is ulong e && (e & (1UL << c.Bit)) != 0,
            eff is null ? $"{statusPath} has no CapEff line" : $"bit {c.Bit} of CapEff")).ToList();
    }

    private static (string Layout, IReadOnlyList<ControllerMount> Controllers) ReadCgroups(string root)
    {
        CgroupMounts mounts;
        try
        {
            mounts = CgroupMounts.Discover(root);
        }
        catch (IOException)
        {
            return ("unknown", []);
        }
        var list = new List<ControllerMount>();
        foreach (CgroupMount m in mounts.Mounts)
        {
            IEnumerable<string> names = m.Version == 1
                ? m.Controllers
                : (ReadText(m.PathOf("/", "cgroup.controllers")) ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            list.AddRange(names.Select(n => new ControllerMount(n, m.Version, m.MountPoint)));
        }
        return (mounts.Layout, list);
    }

    private static string? ReadText(string path)
    {
        try { return File.ReadAllText(path); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
