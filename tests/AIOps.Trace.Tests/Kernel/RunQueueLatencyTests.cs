using AIOps.Trace.Aggregation;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>Run-queue latency per container agrees with schedstat and with libbpf-tools runqlat.</summary>
public sealed class RunQueueLatencyTests : KernelTestBase
{
    private const int Seconds = 4;

    [Fact]
    public void Count_and_sum_match_the_tasks_schedstat()
    {
        TestCgroup a = NewCgroup("rq-a"), b = NewCgroup("rq-b");
        TraceEngine engine = StartEngine();
        var pa = Track(a.Start(TestCgroup.BusyLoop, cpu: 1));
        var pb = Track(b.Start(TestCgroup.BusyLoop, cpu: 1));
        Thread.Sleep(Seconds * 1000);
        Freeze(pa, pb);
        using EngineSnapshot s = engine.CollectWindow();

        foreach ((TestCgroup cg, int pid) in new[] { (a, pa.Id), (b, pb.Id) })
        {
            // Started inside the window: the totals are the window's deltas.
            (long _, long runDelayNs, long slices) = ProcFs.SchedStat(pid);
            ContainerSnapshot c = Assert.Single(s.Containers, c => c.CgroupPath == cg.RelativePath);
            Assert.True(slices > 100, $"too few timeslices to compare: {slices}");
            Assert.InRange(c.RunQueue.Count, slices * 0.9, slices * 1.1);
            Assert.InRange((double)c.RunQueue.Sum, runDelayNs * 0.9, runDelayNs * 1.1);
        }
    }

    [Fact]
    public void P50_and_p99_fall_in_runqlats_log2_buckets()
    {
        TestCgroup a = NewCgroup("rq-a"), b = NewCgroup("rq-b");
        TraceEngine engine = StartEngine();
        var pa = Track(a.Start(TestCgroup.BusyLoop, cpu: 1));
        var pb = Track(b.Start(TestCgroup.BusyLoop, cpu: 1));
        Freeze(pa, pb);

        // Both tools watch the same stretch: attach runqlat, open a fresh engine window, then let
        // the loops run until runqlat's interval ends.
        using Runqlat runqlat = Runqlat.Start(pa.Id, Seconds);
        engine.CollectWindow().Dispose();
        BpfState.Run("kill", $"-CONT {pa.Id} {pb.Id}");
        long[] reference = runqlat.WaitForHistogram();
        Freeze(pa, pb);
        using EngineSnapshot s = engine.CollectWindow();

        ContainerSnapshot c = Assert.Single(s.Containers, c => c.CgroupPath == a.RelativePath);
        Assert.True(reference.Sum() > 100, $"runqlat saw only {reference.Sum()} waits");
        Assert.InRange(c.RunQueue.Count, reference.Sum() * 0.9, reference.Sum() * 1.15);
        foreach (double q in new[] { 0.50, 0.99 })
        {
            int ours = LogLinearHistogram.Log2MicrosecondSlot(c.RunQueue.ValueAtQuantile(q));
            Assert.True(Runqlat.QuantileSlot(reference, q) == ours,
                $"p{q * 100}: engine slot {ours} ({c.RunQueue.ValueAtQuantile(q) / 1000:0} us), runqlat slot {Runqlat.QuantileSlot(reference, q)}; runqlat [{string.Join(' ', reference.Take(20))}]");
        }
    }
}
