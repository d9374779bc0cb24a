namespace AIOps.Trace.Tests.Kernel;

/// <summary>Starting and stopping the engine leaves no program or link loaded.</summary>
public sealed class LeakTests : KernelTestBase
{
    [Theory]
    [InlineData(Bpf.AttachMode.TpBtf, "tp_btf")]
    [InlineData(Bpf.AttachMode.RawTp, "raw_tp")]
    [InlineData(Bpf.AttachMode.Tracepoint, "tracepoint")]
    public void Each_attach_mode_loads_attaches_and_unloads_cleanly(Bpf.AttachMode mode, string expected)
    {
        var engine = TraceEngine.Start(new EngineOptions { Tracer = new Bpf.TracerOptions { Attach = mode } });
        try
        {
            Assert.Equal(expected, engine.Kernel.Attach);
            IReadOnlyList<int> programs = BpfState.OurPrograms();
            // wakeup, wakeup_new, switch and the flush program (loaded, not attached).
            Assert.Equal(4, programs.Count);
            Assert.Equal(3, BpfState.LinksOf(programs));
            Assert.Equal(3, engine.AttachedPrograms);
            Thread.Sleep(200);
            using EngineSnapshot s = engine.CollectWindow();
            Assert.True(s.KernelCounters.Samples > 0, "the programs saw no scheduler event");
        }
        finally
        {
            engine.Dispose();
        }
        Assert.Empty(BpfState.OurProgramsAfterRelease());
    }

    [Fact]
    public void A_removed_cgroup_is_forgotten_after_a_window_without_events()
    {
        TraceEngine engine = StartEngine();
        TestCgroup gone = TestCgroup.Create("gone");
        ulong id;
        try
        {
            var loop = gone.Start(TestCgroup.BusyLoop, cpu: 1);
            Thread.Sleep(500);
            using (EngineSnapshot s = engine.CollectWindow())
                id = Assert.Single(s.Containers, c => c.CgroupPath == gone.RelativePath).CgroupId;
            loop.Kill();
            loop.WaitForExit();
        }
        finally
        {
            gone.Dispose();
        }
        Assert.True(engine.Tracks(id));

        // The first window after the kill still holds the dying task's last switches.
        engine.CollectWindow().Dispose();
        engine.CollectWindow().Dispose();

        Assert.False(engine.Tracks(id));
    }
}
