using System.Diagnostics;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>The reader thread allocates nothing while it drains a live ring (either transport) under load.</summary>
public sealed class ZeroAllocationTests : KernelTestBase
{
    [Theory]
    [InlineData(Bpf.TransportMode.RingBuf)]
    [InlineData(Bpf.TransportMode.PerfBuf)]
    public void Reader_thread_allocates_nothing_draining_perf_bench_sched_pipe_for_5_s(Bpf.TransportMode transport)
    {
        TestCgroup load = NewCgroup("pipe");
        TraceEngine engine = StartEngine(transport, Bpf.AttachMode.TpBtf);
        Process bench = Track(load.Start("perf bench sched pipe -l 100000000", cpu: 1));

        // Warm-up: every cgroup that will show up has its accumulator, the JIT is done.
        Thread.Sleep(1500);
        using (engine.CollectWindow()) { }
        long before = engine.ReaderThreadAllocatedBytes;
        Thread.Sleep(5000);
        long after = engine.ReaderThreadAllocatedBytes;
        using EngineSnapshot s = engine.CollectWindow();

        ContainerSnapshot c = Assert.Single(s.Containers, c => c.CgroupPath == load.RelativePath);
        // The ring really was busy: the pipe benchmark switches hundreds of thousands of times a second.
        Assert.True(c.RunQueue.Count > 200_000, $"only {c.RunQueue.Count} waits in 5 s under perf bench");
        Assert.False(bench.HasExited, "perf bench ended early");
        Assert.Equal(0, after - before);
        Assert.Equal(0, s.LostEvents);
    }
}
