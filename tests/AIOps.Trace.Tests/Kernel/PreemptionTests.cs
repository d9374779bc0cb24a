using System.Diagnostics;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>Involuntary preemptions per container equal the tasks' nonvoluntary context switches.</summary>
public sealed class PreemptionTests : KernelTestBase
{
    [Theory]
    [MemberData(nameof(AttachModes.Tiers), MemberType = typeof(AttachModes))]
    public void Two_busy_loops_on_one_cpu_preempt_each_other_as_proc_status_says(AIOps.Trace.Bpf.TransportMode transport, AIOps.Trace.Bpf.AttachMode attach) =>
        TwoBusyLoopsPreemptEachOther(() => StartEngine(transport, attach));

    [Fact]
    public void Two_busy_loops_on_one_cpu_preempt_each_other_as_proc_status_says_with_wakeup_stamps_on_tp_btf() =>
        TwoBusyLoopsPreemptEachOther(StartEngineWithWakeupStamps);

    private void TwoBusyLoopsPreemptEachOther(Func<TraceEngine> start)
    {
        TestCgroup a = NewCgroup("pre-a"), b = NewCgroup("pre-b");
        TraceEngine engine = start();
        var pa = Track(a.Start(TestCgroup.BusyLoop, cpu: 1));
        var pb = Track(b.Start(TestCgroup.BusyLoop, cpu: 1));
        Thread.Sleep(3000);
        Freeze(pa, pb);
        // Both processes started inside the window, so their totals are the window's deltas.
        long kernelA = ProcFs.NonvoluntarySwitches(pa.Id), kernelB = ProcFs.NonvoluntarySwitches(pb.Id);

        using EngineSnapshot s = engine.CollectWindow();
        ContainerSnapshot ca = Assert.Single(s.Containers, c => c.CgroupPath == a.RelativePath);
        ContainerSnapshot cb = Assert.Single(s.Containers, c => c.CgroupPath == b.RelativePath);

        Assert.True(kernelA > 100 && kernelB > 100, $"too few preemptions to compare: {kernelA}, {kernelB}");
        Assert.InRange(ca.Involuntary, kernelA * 0.95, kernelA * 1.05);
        Assert.InRange(cb.Involuntary, kernelB * 0.95, kernelB * 1.05);
        foreach ((ContainerSnapshot victim, TestCgroup other) in new[] { (ca, b), (cb, a) })
        {
            Assert.True(victim.PreemptedByOther > victim.Involuntary / 2,
                $"{victim.CgroupPath}: only {victim.PreemptedByOther} of {victim.Involuntary} preemptions by another cgroup");
            Assert.Equal(other.RelativePath, victim.TopPreemptors[0].CgroupPath);
        }
        Assert.Equal(0, s.LostEvents);
    }

    [Theory]
    [MemberData(nameof(AttachModes.Tiers), MemberType = typeof(AttachModes))]
    public void A_root_cgroup_task_in_an_autogroup_preempts_as_the_host_and_waits_in_the_root(AIOps.Trace.Bpf.TransportMode transport, AIOps.Trace.Bpf.AttachMode attach) =>
        RootTaskInAnAutogroupIsTheHost(() => StartEngine(transport, attach));

    [Fact]
    public void A_root_cgroup_task_in_an_autogroup_preempts_as_the_host_and_waits_in_the_root_with_wakeup_stamps_on_tp_btf() =>
        RootTaskInAnAutogroupIsTheHost(StartEngineWithWakeupStamps);

    private void RootTaskInAnAutogroupIsTheHost(Func<TraceEngine> start)
    {
        // A task of the cpu controller's root cgroup in a session of its own has, with
        // kernel.sched_autogroup_enabled=1, an autogroup's task_group, which has no css: the
        // programs find its cgroup through the task group's parent (bpf/task.bpf.h, and with direct
        // loads view_of_direct in bpf/sched.bpf.h).
        TestCgroup a = NewCgroup("pre-host");
        TraceEngine engine = start();
        var victim = Track(a.Start(TestCgroup.BusyLoop, cpu: 1));
        var host = Track(StartInRootSession(TestCgroup.BusyLoop, cpu: 1));
        Thread.Sleep(500);
        Assert.Equal("/", CpuCgroupOf(host.Id));
        if (File.ReadAllText("/proc/sys/kernel/sched_autogroup_enabled").Trim() == "1")
            Assert.NotEqual(File.ReadAllText("/proc/self/autogroup").Split(' ')[0], File.ReadAllText($"/proc/{host.Id}/autogroup").Split(' ')[0]);
        Thread.Sleep(2500);
        Freeze(victim, host);
        // Both processes started inside the window, so their totals are the window's deltas.
        long kernelVictim = ProcFs.NonvoluntarySwitches(victim.Id), kernelHost = ProcFs.NonvoluntarySwitches(host.Id);
        (long _, long hostDelayNs, long hostSlices) = ProcFs.SchedStat(host.Id);

        using EngineSnapshot s = engine.CollectWindow();
        ContainerSnapshot cv = Assert.Single(s.Containers, c => c.CgroupPath == a.RelativePath);
        ContainerSnapshot root = Assert.Single(s.Containers, c => c.CgroupPath == "/");

        Assert.True(kernelVictim > 100 && kernelHost > 100, $"too few preemptions to compare: {kernelVictim}, {kernelHost}");
        Assert.InRange(cv.Involuntary, kernelVictim * 0.95, kernelVictim * 1.05);
        Assert.True(cv.PreemptedByHost > cv.Involuntary * 0.8,
            $"only {cv.PreemptedByHost} of {cv.Involuntary} preemptions by the host (same {cv.PreemptedBySame}, other {cv.PreemptedByOther})");
        // The root cgroup holds other tasks too: at least the hog's own preemptions and waits.
        Assert.True(root.Involuntary >= kernelHost * 0.95, $"root: {root.Involuntary} preemptions, the root task alone had {kernelHost}");
        Assert.Equal(a.RelativePath, root.TopPreemptors[0].CgroupPath);
        Assert.True(root.RunQueue.Count >= hostSlices * 0.9, $"root: {root.RunQueue.Count} waits, the root task alone had {hostSlices} timeslices");
        Assert.True(root.RunQueue.Sum >= hostDelayNs * 0.9, $"root: {root.RunQueue.Sum} ns of waits, the root task alone waited {hostDelayNs} ns");
        Assert.Equal(0, s.LostEvents);
    }

    // The process's cgroup in the hierarchy of the cpu controller (/proc/<pid>/cgroup: id:controllers:path).
    private static string CpuCgroupOf(int pid) => File.ReadAllLines($"/proc/{pid}/cgroup")
        .Select(l => l.Split(':', 3))
        .Single(f => f[1].Split(',').Contains("cpu"))[2];

    // A shell that moves itself into the cpu controller's root cgroup and then, in a new session
    // (setsid: same pid, as the shell leads no process group), runs the command pinned.
    private static Process StartInRootSession(string command, int cpu)
    {
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"echo $$ > /sys/fs/cgroup/cpu/cgroup.procs; exec setsid taskset -c {cpu} {command}");
        return Process.Start(psi) ?? throw new InvalidOperationException("could not start " + command);
    }
}
