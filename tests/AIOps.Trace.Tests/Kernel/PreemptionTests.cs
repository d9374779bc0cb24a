namespace AIOps.Trace.Tests.Kernel;

/// <summary>Involuntary preemptions per container equal the tasks' nonvoluntary context switches.</summary>
public sealed class PreemptionTests : KernelTestBase
{
    [Theory]
    [MemberData(nameof(AttachModes.Tiers), MemberType = typeof(AttachModes))]
    public void Two_busy_loops_on_one_cpu_preempt_each_other_as_proc_status_says(AIOps.Trace.Bpf.TransportMode transport, AIOps.Trace.Bpf.AttachMode attach)
    {
        TestCgroup a = NewCgroup("pre-a"), b = NewCgroup("pre-b");
        TraceEngine engine = StartEngine(transport, attach);
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
}
