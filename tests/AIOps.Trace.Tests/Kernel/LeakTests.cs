namespace AIOps.Trace.Tests.Kernel;

/// <summary>Starting and stopping the engine leaves no program or link loaded.</summary>
public sealed class LeakTests : KernelTestBase
{
    [Theory]
    [InlineData(Bpf.TransportMode.RingBuf, Bpf.AttachMode.TpBtf, "tp_btf")]
    [InlineData(Bpf.TransportMode.RingBuf, Bpf.AttachMode.RawTp, "raw_tp")]
    [InlineData(Bpf.TransportMode.RingBuf, Bpf.AttachMode.Tracepoint, "tracepoint")]
    [InlineData(Bpf.TransportMode.PerfBuf, Bpf.AttachMode.TpBtf, "tp_btf")]
    [InlineData(Bpf.TransportMode.PerfBuf, Bpf.AttachMode.RawTp, "raw_tp")]
    [InlineData(Bpf.TransportMode.PerfBuf, Bpf.AttachMode.Tracepoint, "tracepoint")]
    public void Each_attach_mode_loads_attaches_and_unloads_cleanly(Bpf.TransportMode transport, Bpf.AttachMode mode, string expected)
    {
        int perfEventsBefore = PerfEventFds();
        var engine = TraceEngine.Start(new EngineOptions { Tracer = new Bpf.TracerOptions { Transport = transport, Attach = mode } });
        try
        {
            Assert.Equal(expected, engine.Kernel.Attach);
            Assert.Equal(AttachModes.Name(transport), engine.Kernel.Ring);
            // The perf transport holds one BPF output event per online CPU, the ring buffer none;
            // libbpf attaches each classic tracepoint program through a tracepoint perf event.
            int perCpuEvents = transport == Bpf.TransportMode.PerfBuf ? OnlineCpus() : 0;
            // tp_btf reads the kernel's own wait stamps: switch alone. The others stamp waits
            // themselves: wakeup, wakeup_new, switch, and free (a freed task's stamp goes).
            int attached = engine.Kernel.WaitStamps == "sched_info" ? 1 : 4;
            Assert.Equal(mode == Bpf.AttachMode.TpBtf ? "sched_info" : "wakeup", engine.Kernel.WaitStamps);
            int tracepointEvents = mode == Bpf.AttachMode.Tracepoint ? attached : 0;
            Assert.Equal(perfEventsBefore + perCpuEvents + tracepointEvents, PerfEventFds());
            IReadOnlyList<int> programs = BpfState.OurPrograms();
            // And the flush program (loaded, not attached).
            Assert.Equal(attached + 1, programs.Count);
            Assert.Equal(attached, BpfState.LinksOf(programs));
            Assert.Equal(attached, engine.AttachedPrograms);
            Thread.Sleep(200);
            using EngineSnapshot s = engine.CollectWindow();
            Assert.True(s.KernelCounters.Samples > 0, "the programs saw no scheduler event");
        }
        finally
        {
            engine.Dispose();
        }
        Assert.Empty(BpfState.OurProgramsAfterRelease());
        Assert.Equal(perfEventsBefore, PerfEventFds());
    }

    /// <summary>CPUs in /sys/devices/system/cpu/online ("0-3,6"): not Environment.ProcessorCount, which follows affinity and quotas.</summary>
    private static int OnlineCpus() => File.ReadAllText("/sys/devices/system/cpu/online").Trim().Split(',')
        .Sum(range => range.Split('-') is [string lo, string hi] ? int.Parse(hi) - int.Parse(lo) + 1 : 1);

    /// <summary>This process's open perf event fds (the perf transport's per-CPU events).</summary>
    private static int PerfEventFds() => new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos()
        .Count(fd => fd.LinkTarget == "anon_inode:[perf_event]");

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
