using System.Text.Json;
using AIOps.Trace.Bpf;

namespace AIOps.Trace.Tests.Unit;

/// <summary><see cref="KernelFeatures"/> over a fake root and fake BPF probes: the doctor's reasoning, on any machine.</summary>
public sealed class DoctorKernelFeaturesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("aiops-doctor-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Write(string relative, string text)
    {
        string path = Path.Combine(_root, relative.TrimStart('/'));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    // Every map and program type loads except BPF_PROG_TYPE_TRACING; the tracer is not loaded.
    // 5.4 cannot run a raw_tp program on a given CPU (5.10+), so no window could be cut there.
    private static readonly BpfProbes Kernel54 = new(_ => 1, t => t == KernelFeatures.ProgTracing ? 0 : 1, () => null, WindowFlushProbe: () => 0);

    // The same on 5.10, where the window flush works.
    private static readonly BpfProbes Kernel510 = Kernel54 with { WindowFlushProbe = () => 1 };

    [Fact]
    public void Without_btf_the_doctor_names_the_missing_btf_and_chooses_procfs()
    {
        Write("/proc/sys/kernel/osrelease", "5.4.0-fake\n");
        Write("/proc/self/status", "Name:\tx\nCapEff:\t000001ffffffffff\n");
        Write("/sys/kernel/tracing/events/sched/README", "");

        KernelFeatures f = KernelFeatures.Probe(_root, Kernel54);

        Assert.Equal("5.4.0-fake", f.Release);
        Assert.False(f.Btf.Available);
        Assert.Contains("/sys/kernel/btf/vmlinux is missing", f.Btf.Detail);
        Assert.False(f.TpBtf.Available);
        Assert.Equal("no (needs BTF)", f.TpBtf.Detail);
        Assert.True(f.RawTp.Available);
        Assert.True(f.Tracepoint.Available);
        Assert.False(f.Kprobes.Available);
        Assert.False(f.Fentry.Available);
        // The CO-RE programs cannot load without a description of the kernel's types.
        Assert.Equal(TierMode.Procfs, f.Tier.Mode);
        Assert.Contains(f.Tier.CannotMeasure, g => g.Contains("throttling only from cpu.stat"));
        Assert.All(f.Capabilities, c => Assert.True(c.Available, c.Name));
        // No mountinfo under the fake root.
        Assert.Equal("unknown", f.CgroupLayout);

        // What a user reads: the missing feature, what would fix it, and the fallback taken.
        string text = Text(f);
        Assert.Matches(@"(?m)^btf\s+no\s+/sys/kernel/btf/vmlinux is missing \(CONFIG_DEBUG_INFO_BTF unset\): the CO-RE programs need --btf PATH \(a BTF file or a BTFHub archive directory\), else procfs sampling", text);
        Assert.Matches(@"(?m)^chosen tier\s+procfs sampling, throttling from cgroupfs \(no BTF for the CO-RE programs \(/sys/kernel/btf/vmlinux is missing and no --btf was given\)\)$", text);
        using JsonDocument json = Json(f);
        JsonElement btf = json.RootElement.GetProperty("features").GetProperty("btf");
        Assert.False(btf.GetProperty("available").GetBoolean());
        Assert.Contains("--btf PATH", btf.GetProperty("detail").GetString());
        Assert.Equal("procfs", json.RootElement.GetProperty("tier").GetProperty("mode").GetString());
        Assert.Contains("no --btf was given", json.RootElement.GetProperty("tier").GetProperty("why").GetString());
    }

    [Fact]
    public void Without_kernel_btf_an_external_btf_brings_back_the_ebpf_tier_on_raw_tp()
    {
        Write("/proc/sys/kernel/osrelease", "5.10.0-fake\n");
        Write("/proc/self/status", "CapEff:\t000001ffffffffff\n");
        Write("/sys/kernel/tracing/events/sched/README", "");
        string external = Path.Combine(_root, "btfhub");
        Directory.CreateDirectory(Path.Combine(external, $"debian/11/{BtfFile.Arch}"));
        File.Copy("/sys/kernel/btf/vmlinux", Path.Combine(external, $"debian/11/{BtfFile.Arch}/5.10.0-fake.btf"));

        KernelFeatures f = KernelFeatures.Probe(_root, Kernel510, external);

        Assert.True(f.Btf.Available);
        Assert.Equal($"external: {external}/debian/11/{BtfFile.Arch}/5.10.0-fake.btf (--btf; /sys/kernel/btf/vmlinux is missing, so no tp_btf or fentry)", f.Btf.Detail);
        Assert.False(f.TpBtf.Available);
        Assert.True(f.WindowFlush.Available);
        Assert.Equal((TierMode.Ebpf, TierTransport.RingBuf, TierAttach.RawTp), (f.Tier.Mode, f.Tier.Transport, f.Tier.Attach));
        Assert.Matches(@"(?m)^chosen tier\s+eBPF: ringbuf \+ raw_tp", Text(f));
    }

    [Fact]
    public void Before_5_10_no_window_can_be_cut_so_even_with_btf_the_tier_is_procfs()
    {
        // 5.4 with a BTF from outside: the programs would load, but BPF_F_TEST_RUN_ON_CPU is missing.
        Write("/proc/sys/kernel/osrelease", "5.4.0-fake\n");
        Write("/proc/self/status", "CapEff:\t000001ffffffffff\n");
        Write("/sys/kernel/tracing/events/sched/README", "");
        string external = Path.Combine(_root, "btfhub");
        Directory.CreateDirectory(Path.Combine(external, $"ubuntu/20.04/{BtfFile.Arch}"));
        File.Copy("/sys/kernel/btf/vmlinux", Path.Combine(external, $"ubuntu/20.04/{BtfFile.Arch}/5.4.0-fake.btf"));

        KernelFeatures f = KernelFeatures.Probe(_root, Kernel54, external);

        Assert.True(f.Btf.Available);
        Assert.False(f.WindowFlush.Available);
        Assert.Equal(TierMode.Procfs, f.Tier.Mode);
        string text = Text(f);
        Assert.Matches(@"(?m)^window_flush\s+no\s+BPF_PROG_TEST_RUN of a raw_tp program on a given CPU \(BPF_F_TEST_RUN_ON_CPU, 5\.10\+\), which cuts each window: the kernel refuses it; eBPF windows cannot be cut on this kernel, so auto mode samples procfs$", text);
        Assert.Matches(@"(?m)^chosen tier\s+procfs sampling, throttling from cgroupfs \(the programs would load, but no window could be cut: ", text);
        using JsonDocument json = Json(f);
        Assert.Equal("procfs", json.RootElement.GetProperty("tier").GetProperty("mode").GetString());
        Assert.False(json.RootElement.GetProperty("features").GetProperty("window_flush").GetProperty("available").GetBoolean());
    }

    [Fact]
    public void A_tracer_whose_window_flush_is_refused_makes_procfs_the_tier_not_ebpf()
    {
        // What the real load reports on 5.2-5.9: loaded and attached, then the flush program refused.
        Write("/sys/kernel/btf/vmlinux", "");
        Write("/proc/self/status", "CapEff:\t000001ffffffffff\n");
        const string error = "kernel 5.8.0-fake cannot cut a window: run aiops_flush on CPU 0 failed with ENOTSUPP (running a raw_tp program on a given CPU, BPF_F_TEST_RUN_ON_CPU, needs Linux 5.10+)";
        var refused = new BpfProbes(_ => 1, _ => 1, () => TracerTrial.Failed(error, windowFlushRefused: true), WindowFlushProbe: () => 0);

        KernelFeatures f = KernelFeatures.Probe(_root, refused);

        Assert.Equal(TierMode.Procfs, f.Tier.Mode);
        Assert.Equal("the eBPF programs load, but " + error, f.Tier.Why);
        Assert.False(f.WindowFlush.Available);
        Assert.Equal("procfs", Json(f).RootElement.GetProperty("tier").GetProperty("mode").GetString());
    }

    [Fact]
    public void A_bad_external_btf_is_an_error_not_a_finding()
    {
        Write("/proc/sys/kernel/osrelease", "5.4.0-fake\n");
        Write("/btf/junk.btf", "this is not BTF at all");
        var e = Assert.Throws<BtfFileException>(() => KernelFeatures.Probe(_root, Kernel54, _root + "/btf/junk.btf"));
        Assert.Contains("is not BTF", e.Message);
        e = Assert.Throws<BtfFileException>(() => KernelFeatures.Probe(_root, Kernel54, _root + "/btf"));
        Assert.Contains("holds no BTF for kernel 5.4.0-fake", e.Message);
    }

    [Fact]
    public void Without_the_bpf_syscall_the_doctor_names_it_and_chooses_procfs()
    {
        // A kernel built without CONFIG_BPF_SYSCALL (or a seccomp filter) answers every bpf() with ENOSYS.
        Write("/sys/kernel/btf/vmlinux", "");
        Write("/proc/self/status", "CapEff:\t000001ffffffffff\n");
        const int ENOSYS = 38;
        var noSyscall = new BpfProbes(_ => -ENOSYS, _ => -ENOSYS, () => null, (_, _) => -ENOSYS);

        KernelFeatures f = KernelFeatures.Probe(_root, noSyscall);

        Assert.False(f.BpfSyscall.Available);
        Assert.Equal(TierMode.Procfs, f.Tier.Mode);
        string text = Text(f);
        Assert.Matches(@"(?m)^bpf_syscall\s+no\s+bpf\(BPF_MAP_CREATE\) of an array map: probe failed with ENOSYS$", text);
        Assert.Matches(@"(?m)^chosen tier\s+procfs sampling, throttling from cgroupfs \(the bpf syscall is not usable: bpf\(BPF_MAP_CREATE\) of an array map: probe failed with ENOSYS\)$", text);
        Assert.Matches(@"(?m)^cannot measure\s+who preempted", text);
        Assert.Matches(@"(?m)^cgroup ids\s+procfs: ", text);
        using JsonDocument json = Json(f);
        JsonElement tier = json.RootElement.GetProperty("tier");
        Assert.Equal(("procfs", "none", "procfs"), (tier.GetProperty("mode").GetString(), tier.GetProperty("transport").GetString(), tier.GetProperty("attach").GetString()));
        Assert.StartsWith("the bpf syscall is not usable", tier.GetProperty("why").GetString());
        Assert.Contains("ENOSYS", json.RootElement.GetProperty("features").GetProperty("bpf_syscall").GetProperty("detail").GetString());
    }

    [Fact]
    public void A_tracer_that_could_not_load_makes_procfs_the_tier_with_its_reason()
    {
        Write("/sys/kernel/btf/vmlinux", "");
        var failed = new BpfProbes(_ => 1, _ => 1, () => TracerTrial.Failed("load aiops_sched.bpf.o failed: EPERM"));
        KernelFeatures f = KernelFeatures.Probe(_root, failed);
        Assert.Matches(@"(?m)^chosen tier\s+procfs sampling, throttling from cgroupfs \(eBPF did not load: load aiops_sched.bpf.o failed: EPERM\)$", Text(f));
    }

    [Fact]
    public void Before_4_18_the_cgroup_id_helper_is_missing_and_ids_come_through_co_re()
    {
        Write("/sys/kernel/btf/vmlinux", "");
        Write("/sys/kernel/tracing/events/sched/README", "");
        Write("/proc/self/status", "CapEff:\t000001ffffffffff\n");
        // A 4.14-like kernel: no ring buffer, no raw_tp, no tracing programs, no cgroup id helper (the
        // window flush probe left working, to isolate the cgroup id reasoning: a real 4.14 has no flush).
        var kernel414 = new BpfProbes(
            m => m == KernelFeatures.MapRingBuf ? 0 : 1,
            p => p == KernelFeatures.ProgTracepoint ? 1 : 0,
            () => null,
            (p, h) => h == KernelFeatures.HelperGetCurrentCgroupId ? 0 : 1);

        KernelFeatures f = KernelFeatures.Probe(_root, kernel414);

        Assert.False(f.CgroupIdHelper.Available);
        Assert.Equal((TierMode.Ebpf, TierTransport.PerfBuf, TierAttach.Tracepoint), (f.Tier.Mode, f.Tier.Transport, f.Tier.Attach));
        Assert.Equal("co-re", f.Tier.CgroupId);
        Assert.StartsWith("bpf_get_current_cgroup_id is missing (kernels before 4.18): read from the task through CO-RE", f.Tier.CgroupIdWhy);
        Assert.Matches(@"(?m)^cgroup_id_helper\s+no\s+bpf_get_current_cgroup_id \(4\.18\+\): the kernel refuses it$", Text(f));
        Assert.Equal("co-re", Json(f).RootElement.GetProperty("tier").GetProperty("cgroup_id").GetString());
    }

    [Theory]
    [InlineData(true, "hybrid", "names the unified hierarchy's cgroup, but the cpu controller is on cgroup v1")]
    [InlineData(true, "v1", "names the unified hierarchy's cgroup, but the cpu controller is on cgroup v1")]
    [InlineData(true, "v2", "which bpf_get_current_cgroup_id does not give for a cgroup without the cpu controller enabled")]
    [InlineData(false, "v2", "is missing (kernels before 4.18)")]
    public void Cgroup_ids_are_read_through_co_re_whatever_the_helper_and_layout(bool helper, string layout, string why)
    {
        (string source, string reason) = KernelFeatures.ChooseCgroupId(new FeatureCheck("cgroup_id_helper", helper, ""), layout);
        Assert.Equal("co-re", source);
        Assert.Contains(why, reason);
    }

    private static string Text(KernelFeatures f)
    {
        var o = new StringWriter();
        AIOps.Trace.Cli.DoctorCommand.WriteText(o, f);
        return o.ToString();
    }

    private static JsonDocument Json(KernelFeatures f)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
            AIOps.Trace.Cli.DoctorCommand.WriteJson(w, f);
        return JsonDocument.Parse(buffer.ToArray());
    }

    [Fact]
    public void Without_tracefs_classic_tracepoints_are_out_even_when_the_program_type_loads()
    {
        Write("/proc/self/status", "CapEff:\t0000000000000000\n");
        KernelFeatures f = KernelFeatures.Probe(_root, Kernel54);

        Assert.False(f.Tracefs.Available);
        Assert.False(f.Tracepoint.Available);
        Assert.Contains("tracefs is not mounted", f.Tracepoint.Detail);
        Assert.All(f.Capabilities, c => Assert.False(c.Available, c.Name));
    }

    [Fact]
    public void A_refused_bpf_syscall_without_privileges_chooses_procfs_and_says_what_it_cannot_measure()
    {
        Write("/proc/self/status", "CapEff:\t0000000000000000\n");
        var refused = new BpfProbes(_ => 0, _ => 0, () => null);

        KernelFeatures f = KernelFeatures.Probe(_root, refused);

        Assert.False(f.BpfSyscall.Available);
        Assert.Contains("lacks CAP_BPF", f.BpfSyscall.Detail);
        Assert.Equal(TierMode.Procfs, f.Tier.Mode);
        Assert.Equal(TierAttach.Procfs, f.Tier.Attach);
        Assert.Contains(f.Tier.CannotMeasure, g => g.Contains("who preempted"));
        Assert.Contains(f.Tier.CannotMeasure, g => g.Contains("per-task means"));
    }

    [Fact]
    public void A_tracer_that_loaded_decides_the_tier_and_explains_fentry()
    {
        Write("/sys/kernel/btf/vmlinux", "");
        Write("/proc/1/mountinfo",
            "30 23 0:26 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw\n" +
            "31 23 0:27 / /sys/fs/cgroup/cpu rw,nosuid - cgroup cgroup rw,cpu\n");
        // What the loader tried on tp_btf: fentry refused, no kprobes, then cpu.stat alone.
        TierAttempt[] attempts =
        [
            new(TierAttach.TpBtf, TierThrottleHook.Fentry, "load aiops_sched.bpf.o failed: EPERM"),
            new(TierAttach.TpBtf, TierThrottleHook.Kprobe, "kernel has no kprobes (CONFIG_KPROBES unset)"),
            new(TierAttach.TpBtf, TierThrottleHook.None, null),
        ];
        string note = TierPolicy.ThrottleNote(TierThrottleHook.None, ThrottleHook.Auto, attempts);
        Assert.Equal("fentry: load aiops_sched.bpf.o failed: EPERM; kprobe: kernel has no kprobes (CONFIG_KPROBES unset); cpu.stat is the source", note);
        var loaded = new BpfProbes(_ => 1, _ => 1, () => new TracerTrial(true, TierTransport.PerfBuf, TierAttach.TpBtf, TierThrottleHook.None, note, "")
        {
            Attempts = attempts,
        });

        KernelFeatures f = KernelFeatures.Probe(_root, loaded);

        Assert.True(f.TpBtf.Available);
        Assert.False(f.Fentry.Available);
        Assert.Equal("fentry: load aiops_sched.bpf.o failed: EPERM", f.Fentry.Detail);
        Assert.Equal((TierMode.Ebpf, TierTransport.PerfBuf, TierAttach.TpBtf, TierThrottleSource.Cgroupfs), (f.Tier.Mode, f.Tier.Transport, f.Tier.Attach, f.Tier.ThrottleSource));
        Assert.Equal(TierThrottleHook.None, f.Tier.ThrottleHook);
        // Each refused combination is listed, in JSON as in text.
        Assert.Matches(@"(?m)^tried\s+tp_btf \+ throttle hook fentry: load aiops_sched.bpf.o failed: EPERM$", Text(f));
        JsonElement tried = Json(f).RootElement.GetProperty("tier").GetProperty("tried");
        Assert.Equal(2, tried.GetArrayLength());
        Assert.Equal(("tp_btf", "kprobe"), (tried[1].GetProperty("attach").GetString(), tried[1].GetProperty("throttle_hook").GetString()));
        Assert.Equal("hybrid", f.CgroupLayout);
        Assert.Contains(f.Controllers, c => c.Controller == "cpu" && c.Version == 1 && c.MountPoint == _root + "/sys/fs/cgroup/cpu");
    }

    [Theory]
    [InlineData(TierThrottleHook.Kprobe)]
    [InlineData(TierThrottleHook.Fentry)]
    public void The_hook_the_tracer_attached_is_the_tiers_throttle_hook(TierThrottleHook attached)
    {
        Write("/sys/kernel/btf/vmlinux", "");
        string hook = attached.Name();
        var loaded = new BpfProbes(_ => 1, _ => 1, () => new TracerTrial(true, TierTransport.RingBuf, TierAttach.RawTp, attached,
            TierPolicy.ThrottleNote(attached, ThrottleHook.Auto, []), ""));

        KernelFeatures f = KernelFeatures.Probe(_root, loaded);

        Assert.Equal((TierThrottleSource.EbpfAndCgroupfs, attached), (f.Tier.ThrottleSource, f.Tier.ThrottleHook));
        Assert.Equal(attached == TierThrottleHook.Fentry, f.Fentry.Available);
        if (f.Fentry.Available)
            Assert.Equal("fentry on throttle_cfs_rq/unthrottle_cfs_rq", f.Fentry.Detail);
        using var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
            AIOps.Trace.Cli.DoctorCommand.WriteJson(w, f);
        using JsonDocument doc = JsonDocument.Parse(json.ToArray());
        Assert.Equal(hook, doc.RootElement.GetProperty("tier").GetProperty("throttle_hook").GetString());
        var text = new StringWriter();
        AIOps.Trace.Cli.DoctorCommand.WriteText(text, f);
        Assert.Contains($"throttling from ebpf+cgroupfs (throttle hook {hook})", text.ToString());
    }

    [Theory]
    [InlineData(true, TierThrottleSource.EbpfAndCgroupfs, TierThrottleHook.Kprobe)]
    [InlineData(false, TierThrottleSource.Cgroupfs, TierThrottleHook.None)]
    public void Predicted_without_a_load_the_hook_is_kprobe_when_the_kernel_has_kprobes(bool kprobePmu, TierThrottleSource source, TierThrottleHook hook)
    {
        Write("/sys/kernel/btf/vmlinux", "");
        Write("/sys/kernel/tracing/events/sched/README", "");
        if (kprobePmu)
            Write("/sys/bus/event_source/devices/kprobe/type", "6\n");

        KernelFeatures f = KernelFeatures.Probe(_root, new BpfProbes(_ => 1, _ => 1, () => null));

        // Without a load fentry is "not probed": only the kprobe PMU predicts a throttle hook.
        Assert.False(f.Fentry.Available);
        Assert.Equal((source, hook), (f.Tier.ThrottleSource, f.Tier.ThrottleHook));
    }
}
