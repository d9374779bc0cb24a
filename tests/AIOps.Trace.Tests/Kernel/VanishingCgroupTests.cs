using AIOps.Trace.Cgroups;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// Real cgroups removed between the steps that read them: the figures, limits, identity and
/// diagnosis of a window, and the readers one by one. The container is reported with what was
/// seen, or skipped; nothing throws.
/// </summary>
public sealed class VanishingCgroupTests : KernelTestBase
{
    [Fact]
    public void A_cgroup_removed_between_reads_reads_as_gone()
    {
        TestCgroup cg = NewCgroup("vanish-read");
        cg.WriteCpu("cpu.cfs_quota_us", "50000");
        CgroupMounts mounts = CgroupMounts.Discover();
        var reader = new CgroupReader(mounts);
        var index = new CgroupIndex(mounts.ForController("cpu")!.MountPoint);
        Track(cg.Start(TestCgroup.BusyLoop)).WaitForExit(300);

        Assert.NotNull(reader.ReadCpuStat(cg.RelativePath));
        Assert.True(reader.ReadCpuUsageNs(cg.RelativePath) > 0);
        Assert.Equal(50000, reader.ReadCpuLimits(cg.RelativePath).QuotaUs);
        ulong id = index.IdOf(cg.RelativePath) ?? throw new InvalidOperationException("no inode for the test cgroup");

        cg.Dispose();

        Assert.Null(reader.ReadCpuStat(cg.RelativePath));
        Assert.Equal(-1, reader.ReadCpuUsageNs(cg.RelativePath));
        Assert.Equal(CpuLimits.Unknown, reader.ReadCpuLimits(cg.RelativePath));
        Assert.Null(index.IdOf(cg.RelativePath));
        index.Refresh();
        Assert.False(index.Entries.ContainsKey(id));
    }

    [Theory]
    [InlineData(8)]
    [InlineData(0)] // no descriptor may be held: every read opens the file, as before
    public void Held_counter_files_read_fresh_figures_and_close_when_the_cgroup_goes(int capacity)
    {
        TestCgroup cg = NewCgroup("held");
        CgroupMounts mounts = CgroupMounts.Discover();
        CgroupMount cpuacct = mounts.ForController("cpuacct")!, cpu = mounts.ForController("cpu")!;
        ulong id = new CgroupIndex(cpu.MountPoint).IdOf(cg.RelativePath) ?? throw new InvalidOperationException("no inode for the test cgroup");
        using var files = new HeldCounterFiles(capacity);

        long Usage()
        {
            Assert.True(files.TryRead(id, HeldCounterFiles.Slot.Usage, cpuacct, cg.RelativePath, "cpuacct.usage", out ReadOnlySpan<byte> bytes, out bool gone));
            Assert.False(gone);
            return long.Parse(System.Text.Encoding.ASCII.GetString(bytes));
        }

        files.BeginPass();
        long before = Usage();
        Assert.Equal(long.Parse(cg.Read("cpuacct", "cpuacct.usage")), before);
        Assert.True(files.TryRead(id, HeldCounterFiles.Slot.Stat, cpu, cg.RelativePath, "cpu.stat", out ReadOnlySpan<byte> stat, out _));
        Assert.Contains("nr_periods", System.Text.Encoding.ASCII.GetString(stat));
        Assert.Equal(Math.Min(2, capacity), files.Held);

        // The same descriptor, read again after the cgroup ran: the kernel's new figure, not the old text.
        // The loop is stopped first, so the usage holds still between the two reads compared.
        System.Diagnostics.Process loop = Track(cg.Start(TestCgroup.BusyLoop));
        loop.WaitForExit(300);
        loop.Kill(entireProcessTree: true);
        loop.WaitForExit();
        files.BeginPass();
        long after = Usage();
        Assert.True(after > before, $"usage {before} -> {after} ns after a 300 ms busy loop");
        Assert.Equal(long.Parse(cg.Read("cpuacct", "cpuacct.usage")), after);
        Assert.Equal(Math.Min(2, capacity), files.Held);

        cg.Dispose(); // kills the loop, then rmdir in every hierarchy
        Assert.False(files.TryRead(id, HeldCounterFiles.Slot.Usage, cpuacct, cg.RelativePath, "cpuacct.usage", out _, out bool goneNow));
        Assert.True(goneNow);
        files.Sweep();
        Assert.Equal(0, files.Held);
    }

    [Theory]
    [InlineData(EngineMode.Ebpf)]
    [InlineData(EngineMode.Procfs)]
    public void A_container_removed_mid_window_is_reported_with_what_was_seen_and_diagnosed(EngineMode mode)
    {
        TestCgroup stays = NewCgroup("vanish-stays"), goes = NewCgroup("vanish-goes");
        TraceEngine engine = StartEngine(new EngineOptions { Mode = mode, PollInterval = TimeSpan.FromMilliseconds(100) });
        using var session = new TraceSession(engine, probes: []);
        Track(stays.Start(TestCgroup.BusyLoop, cpu: 1));
        var doomed = Track(goes.Start(TestCgroup.BusyLoop, cpu: 1));
        Thread.Sleep(1500);
        doomed.Kill();
        doomed.WaitForExit();
        goes.Dispose(); // rmdir in every hierarchy, while the engine still holds its accumulator

        using TraceWindow window = session.Cut();
        IReadOnlyList<ContainerDiagnosis> diagnoses = WindowDiagnosis.Diagnose(window);

        ContainerSnapshot gone = Assert.Single(window.Containers, c => c.CgroupPath == goes.RelativePath);
        Assert.True(gone.Ended);
        Assert.Equal(-1, gone.CpuUsageNs); // its counters went with it
        Assert.True(gone.Involuntary > 0 || gone.RunQueue.Count > 0, "what was seen before it went is kept");
        Assert.Equal(ContainerNaming.FromPath(goes.RelativePath).Name, gone.Identity!.Name);
        ContainerSnapshot live = Assert.Single(window.Containers, c => c.CgroupPath == stays.RelativePath);
        Assert.False(live.Ended);
        Assert.True(live.CpuUsageNs > 0);
        Assert.Contains(diagnoses, d => d.Container.CgroupPath == goes.RelativePath);

        // The next window forgets it: no event, no directory.
        Thread.Sleep(300);
        session.Cut().Dispose();
        using TraceWindow next = session.Cut();
        Assert.DoesNotContain(next.Containers, c => c.CgroupPath == goes.RelativePath);
    }
}
