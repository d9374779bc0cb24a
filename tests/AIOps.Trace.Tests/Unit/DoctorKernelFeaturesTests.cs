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
    private static readonly BpfProbes Kernel54 = new(_ => 1, t => t == KernelFeatures.ProgTracing ? 0 : 1, () => null);

    [Fact]
    public void Without_btf_tp_btf_is_out_and_raw_tp_is_the_attach()
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
        Assert.Equal("ebpf", f.Tier.Mode);
        Assert.Equal("raw_tp", f.Tier.Attach);
        Assert.Equal("ringbuf", f.Tier.Transport);
        Assert.Equal("cgroupfs", f.Tier.ThrottleSource);
        Assert.Contains(f.Tier.CannotMeasure, g => g.Contains("throttling only from cpu.stat"));
        Assert.All(f.Capabilities, c => Assert.True(c.Available, c.Name));
        // No mountinfo under the fake root.
        Assert.Equal("unknown", f.CgroupLayout);
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
        Assert.Equal("procfs", f.Tier.Mode);
        Assert.Equal("procfs", f.Tier.Attach);
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
        var loaded = new BpfProbes(_ => 1, _ => 1, () => new TracerTrial(true, "perfbuf", "tp_btf", null,
            "fentry: load aiops_sched.bpf.o failed: EPERM; kprobe: kernel has no kprobes (CONFIG_KPROBES unset); cpu.stat is the source", ""));

        KernelFeatures f = KernelFeatures.Probe(_root, loaded);

        Assert.True(f.TpBtf.Available);
        Assert.False(f.Fentry.Available);
        Assert.Equal("fentry: load aiops_sched.bpf.o failed: EPERM", f.Fentry.Detail);
        Assert.Equal(("ebpf", "perfbuf", "tp_btf", "cgroupfs"), (f.Tier.Mode, f.Tier.Transport, f.Tier.Attach, f.Tier.ThrottleSource));
        Assert.Equal("hybrid", f.CgroupLayout);
        Assert.Contains(f.Controllers, c => c.Controller == "cpu" && c.Version == 1 && c.MountPoint == _root + "/sys/fs/cgroup/cpu");
    }
}
