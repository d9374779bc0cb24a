using System.Diagnostics;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Tests.Unit;

/// <summary>The disk probe on recorded v1 and v2 trees: the device it picks, the evidence and the verdict over a window.</summary>
public sealed class DiskProbeTests
{
    private const double Window = 2.0;

    private static FakeCgroupFileSystem V1Tree(int sample, string root = "", string writeBps = DiskFixtures.V1WriteBps, string? diskstats = null) =>
        new FakeCgroupFileSystem()
            .File(root + "/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n")
            .Directory(root + "/sys/fs/cgroup/cpu" + DiskFixtures.V1Cgroup, 11)
            .Directory(root + DiskFixtures.V1Dir, 12)
            .File($"{root}{DiskFixtures.V1Dir}/blkio.throttle.io_service_bytes_recursive", DiskFixtures.V1Bytes[sample])
            .File($"{root}{DiskFixtures.V1Dir}/blkio.throttle.io_serviced_recursive", DiskFixtures.V1Ios[sample])
            .File($"{root}{DiskFixtures.V1Dir}/blkio.throttle.read_bps_device", "")
            .File($"{root}{DiskFixtures.V1Dir}/blkio.throttle.write_bps_device", writeBps)
            .File($"{root}{DiskFixtures.V1Dir}/blkio.throttle.read_iops_device", DiskFixtures.V1ReadIops)
            .File($"{root}{DiskFixtures.V1Dir}/blkio.throttle.write_iops_device", "")
            .File(root + "/sys/fs/cgroup/blkio/blkio.throttle.io_service_bytes_recursive", DiskFixtures.V1RootBytes[sample])
            .File(root + "/proc/diskstats", diskstats ?? DiskFixtures.V1Diskstats[sample]);

    private static FakeCgroupFileSystem V2Tree(int sample, string ioMax = DiskFixtures.V2IoMax) =>
        new FakeCgroupFileSystem()
            .File("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
            .Directory(DiskFixtures.V2Dir, 21)
            .File(DiskFixtures.V2Dir + "/io.stat", DiskFixtures.V2IoStat[sample])
            .File(DiskFixtures.V2Dir + "/io.max", ioMax)
            .File("/proc/diskstats", DiskFixtures.V2Diskstats[sample]);

    private static DiskProbe Probe(string mountinfo, FakeCgroupFileSystem fs, string hostRoot = "/") =>
        new(new ResourceProbeContext(CgroupMounts.Parse(mountinfo, hostRoot, fs.ReadAllText), hostRoot), fs);

    /// <summary>Reads the cgroup at the two instants of a recorded window, <see cref="Window"/> seconds apart.</summary>
    private static (DiskReading Start, DiskReading End) Window2(DiskProbe start, DiskProbe end, string path)
    {
        var a = (DiskReading)start.Read(path)!;
        var b = (DiskReading)end.Read(path)!;
        return (a, b with { Timestamp = a.Timestamp + (long)(Window * Stopwatch.Frequency) });
    }

    [Fact]
    public void V1_reads_counters_limits_devices_and_which_devices_blkio_counts()
    {
        var r = (DiskReading)Probe(CgroupsMountsTests.HybridSplitControllers, V1Tree(1)).Read(DiskFixtures.V1Cgroup)!;

        Assert.Equal(1, r.CgroupVersion);
        Assert.True(r.ThrottleKnown);
        Assert.Equal(new DeviceIo(409_600, 9_437_184, 100, 144), r.Io[new DeviceNumber(7, 0)]);
        Assert.Equal(new DeviceLimits(-1, 4_194_304, 200, -1), r.Limits[new DeviceNumber(7, 0)]);
        Assert.Equal("vda", r.Devices![new DeviceNumber(254, 0)].Name);
        Assert.Equal([new DeviceNumber(7, 0), new DeviceNumber(7, 1)], r.CountedDevices!.OrderBy(d => d.Minor));
        Assert.Equal(0, r.MalformedLines);
    }

    [Fact]
    public void V1_write_at_its_bps_limit_is_throttle_limited_on_the_loop_device()
    {
        (DiskReading a, DiskReading b) = Window2(Probe(CgroupsMountsTests.HybridSplitControllers, V1Tree(0)),
            Probe(CgroupsMountsTests.HybridSplitControllers, V1Tree(1)), DiskFixtures.V1Cgroup);

        DiskEvidence e = DiskProbe.Evidence(a, b, Window);

        // 8 MiB written in 2 s against 4 MiB/s; 100 reads in 2 s against 200 IOPS is further off.
        Assert.Equal("loop0", e.Device);
        Assert.Equal("write", e.Direction);
        Assert.Equal(4 << 20, e.BytesPerSecond, 3);
        Assert.Equal(64, e.IopsPerSecond, 3);
        Assert.Equal(4 << 20, e.LimitBytesPerSecond);
        Assert.Equal(-1, e.LimitIopsPerSecond);
        Assert.Equal(0.018, e.DeviceUtilization, 3); // io_ticks +36 ms
        Assert.Equal(1.0, e.ContainerShareOfDevice, 3); // all 8.4 MB loop0 moved were the cgroup's
        Assert.Equal("vda", e.UncountedDevice);
        Assert.Equal(0.012, e.UncountedDeviceUtilization, 3);

        ResourceDiagnosis d = Probe(CgroupsMountsTests.HybridSplitControllers, V1Tree(1)).Diagnose(DiskFixtures.V1Cgroup, a, b, Window);
        Assert.Equal(Outcomes.ThrottleLimited, d.Outcome);
        Assert.Contains("loop0: write 4 MiB/s", d.Summary);
        Assert.Equal(["container_iops", "rate_to_limit"], d.Path.Select(s => s.Metric));
    }

    [Fact]
    public void V1_without_limits_judges_both_directions_and_the_device()
    {
        (DiskReading a, DiskReading b) = Window2(Probe(CgroupsMountsTests.HybridSplitControllers, V1Tree(0, writeBps: "")),
            Probe(CgroupsMountsTests.HybridSplitControllers, V1Tree(1, writeBps: "")), DiskFixtures.V1Cgroup);

        DiskEvidence e = DiskProbe.Evidence(a, b, Window);

        // The read IOPS limit is still set: reads are the limited direction, far from it.
        Assert.Equal("read", e.Direction);
        Assert.Equal(50, e.IopsPerSecond, 3);
        Assert.Equal(200, e.LimitIopsPerSecond);
        Assert.Equal(Outcomes.NotLimited, DiskDiagnosis.Diagnose(e).Outcome);

        DiskEvidence none = DiskProbe.Evidence(a with { Limits = new Dictionary<DeviceNumber, DeviceLimits>() },
            b with { Limits = new Dictionary<DeviceNumber, DeviceLimits>() }, Window);
        Assert.Equal("read+write", none.Direction);
        Assert.Equal((409_600 + 8_388_608) / Window, none.BytesPerSecond, 3);
        Assert.Equal(-1, none.LimitBytesPerSecond);
    }

    [Fact]
    public void V1_no_io_with_the_uncounted_disk_busy_is_undecidable_and_with_it_idle_not_limited()
    {
        // The cgroup's counters stand still while vda's io_ticks grow 1.9 s in 2 s.
        string busyVda = DiskFixtures.V1Diskstats[1].Replace(" 204760 ", " 206636 ");
        DiskProbe start = Probe(CgroupsMountsTests.HybridSplitControllers, V1Tree(0));
        (DiskReading a, DiskReading b) = Window2(start, Probe(CgroupsMountsTests.HybridSplitControllers, V1Tree(0, diskstats: busyVda)), DiskFixtures.V1Cgroup);

        ResourceDiagnosis busy = start.Diagnose(DiskFixtures.V1Cgroup, a, b, Window);

        Assert.Equal(Outcomes.Undecidable, busy.Outcome);
        Assert.Contains("vda was busy 95%", busy.UndecidableReason);
        Assert.Contains("/proc/<pid>/io is unreadable", busy.UndecidableReason); // no cgroup.procs in this tree: no task counts
        Assert.Equal(["container_iops", "uncounted_device_utilization"], busy.Path.Select(s => s.Metric));

        // Its one task's /proc/<pid>/io shows whether it did storage I/O on a device blkio misses.
        FakeCgroupFileSystem WithTask(FakeCgroupFileSystem fs, long writeBytes) => fs
            .File(DiskFixtures.V1Dir + "/cgroup.procs", "4242\n")
            .File("/proc/4242/io", $"rchar: 6976\nwchar: 0\nsyscr: 10\nsyscw: 0\nread_bytes: 8192\nwrite_bytes: {writeBytes}\ncancelled_write_bytes: 0\n");
        DiskProbe quietStart = Probe(CgroupsMountsTests.HybridSplitControllers, WithTask(V1Tree(0), 4096));
        (a, b) = Window2(quietStart, Probe(CgroupsMountsTests.HybridSplitControllers, WithTask(V1Tree(0, diskstats: busyVda), 4096)), DiskFixtures.V1Cgroup);
        Assert.Equal(12288, Assert.Single(b.TaskIo!).Value);
        ResourceDiagnosis quiet = quietStart.Diagnose(DiskFixtures.V1Cgroup, a, b, Window);
        Assert.Equal(Outcomes.NotLimited, quiet.Outcome);
        Assert.Equal(["container_iops", "uncounted_device_utilization", "task_io_bytes_per_s"], quiet.Path.Select(s => s.Metric));

        (a, b) = Window2(quietStart, Probe(CgroupsMountsTests.HybridSplitControllers, WithTask(V1Tree(0, diskstats: busyVda), 4096 + (2 << 20))), DiskFixtures.V1Cgroup);
        ResourceDiagnosis writing = quietStart.Diagnose(DiskFixtures.V1Cgroup, a, b, Window);
        Assert.Equal(Outcomes.Undecidable, writing.Outcome);
        Assert.Contains("its tasks did 1 MiB/s of storage I/O", writing.UndecidableReason);

        (a, b) = Window2(start, Probe(CgroupsMountsTests.HybridSplitControllers, V1Tree(0)), DiskFixtures.V1Cgroup);
        ResourceDiagnosis idle = start.Diagnose(DiskFixtures.V1Cgroup, a, b, Window);
        Assert.Equal(Outcomes.NotLimited, idle.Outcome);
        Assert.Equal("not I/O limited: no block I/O in the window", idle.Summary);
    }

    [Fact]
    public void V2_picks_the_busiest_of_near_tied_devices_and_sees_contention()
    {
        (DiskReading a, DiskReading b) = Window2(Probe(CgroupsMountsTests.PureV2, V2Tree(0)),
            Probe(CgroupsMountsTests.PureV2, V2Tree(1)), DiskFixtures.V2Pod);

        Assert.Equal(2, b.CgroupVersion);
        Assert.Null(b.CountedDevices);
        DiskEvidence e = DiskProbe.Evidence(a, b, Window);

        Assert.Equal("sda", e.Device); // dm-0 saw the same 11 MiB but was busy 30% of the window
        Assert.Equal("write", e.Direction);
        Assert.Equal(5 << 20, e.BytesPerSecond, 3);
        Assert.Equal(100 << 20, e.LimitBytesPerSecond);
        Assert.Equal(0.98, e.DeviceUtilization, 3);
        Assert.Equal(0.1, e.ContainerShareOfDevice, 3);
        Assert.Null(e.UncountedDevice);

        ResourceDiagnosis d = Probe(CgroupsMountsTests.PureV2, V2Tree(1)).Diagnose(DiskFixtures.V2Pod, a, b, Window);
        Assert.Equal(Outcomes.Contention, d.Outcome);
        Assert.Equal(["container_iops", "rate_to_limit", "device_utilization", "container_share_of_device"], d.Path.Select(s => s.Metric));
    }

    [Fact]
    public void V2_a_device_at_its_limit_wins_over_one_with_more_bytes()
    {
        // 1 MiB of reads in 2 s on dm-0 against rbps 512 KiB/s; sda has far more bytes, no limit.
        string ioMax = "253:0 rbps=524288 wbps=max riops=max wiops=max\n";
        string[] stat =
        [
            "8:0 rbytes=0 wbytes=0 rios=0 wios=0\n253:0 rbytes=0 wbytes=0 rios=0 wios=0\n",
            "8:0 rbytes=0 wbytes=104857600 rios=0 wios=100\n253:0 rbytes=1048576 wbytes=0 rios=16 wios=0\n",
        ];
        DiskProbe Probe2(int i) => Probe(CgroupsMountsTests.PureV2, V2Tree(i, ioMax).File(DiskFixtures.V2Dir + "/io.stat", stat[i]));
        (DiskReading a, DiskReading b) = Window2(Probe2(0), Probe2(1), DiskFixtures.V2Pod);

        DiskEvidence e = DiskProbe.Evidence(a, b, Window);

        Assert.Equal("dm-0", e.Device);
        Assert.Equal("read", e.Direction);
        Assert.Equal(Outcomes.ThrottleLimited, DiskDiagnosis.Diagnose(e).Outcome);
    }

    [Fact]
    public void V2_a_limit_on_reads_does_not_hide_the_writes()
    {
        // Only writes, 11 MiB in 2 s, under a read limit: the I/O is there and sda is busy with others'.
        string ioMax = "8:0 rbps=1048576 wbps=max riops=max wiops=max\n";
        string[] stat =
        [
            "8:0 rbytes=0 wbytes=0 rios=0 wios=0\n253:0 rbytes=0 wbytes=0 rios=0 wios=0\n",
            "8:0 rbytes=0 wbytes=11534336 rios=0 wios=160\n253:0 rbytes=0 wbytes=11534336 rios=0 wios=160\n",
        ];
        DiskProbe Probe2(int i) => Probe(CgroupsMountsTests.PureV2, V2Tree(i, ioMax).File(DiskFixtures.V2Dir + "/io.stat", stat[i]));
        (DiskReading a, DiskReading b) = Window2(Probe2(0), Probe2(1), DiskFixtures.V2Pod);

        DiskEvidence e = DiskProbe.Evidence(a, b, Window);

        Assert.Equal("read", e.Direction);
        Assert.Equal(0, e.IopsPerSecond);
        Assert.Equal(80, e.TotalIopsPerSecond, 3);
        ResourceDiagnosis d = DiskDiagnosis.Diagnose(e);
        Assert.Equal(Outcomes.Contention, d.Outcome);
        Assert.Equal(80, d.Path[0].Value, 3);
    }

    [Fact]
    public void V2_without_io_max_does_not_know_the_throttle()
    {
        var fs0 = new FakeCgroupFileSystem()
            .File("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
            .Directory(DiskFixtures.V2Dir, 21)
            .File(DiskFixtures.V2Dir + "/io.stat", DiskFixtures.V2IoStat[0])
            .File("/proc/diskstats", DiskFixtures.V2Diskstats[0]);

        var r = (DiskReading)Probe(CgroupsMountsTests.PureV2, fs0).Read(DiskFixtures.V2Pod)!;

        Assert.False(r.ThrottleKnown);
        Assert.Equal(Outcomes.Undecidable, Probe(CgroupsMountsTests.PureV2, fs0).Diagnose(DiskFixtures.V2Pod, r, r, Window).Outcome);
    }

    [Fact]
    public void A_vanished_cgroup_reads_as_null_and_one_removed_mid_read_too()
    {
        var gone = new FakeCgroupFileSystem().File("/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n").File("/proc/diskstats", DiskFixtures.V1Diskstats[0]);
        Assert.Null(Probe(CgroupsMountsTests.HybridSplitControllers, gone).Read(DiskFixtures.V1Cgroup));
        Assert.Null(Probe(CgroupsMountsTests.PureV2, new FakeCgroupFileSystem().File("/sys/fs/cgroup/cgroup.controllers", "io")).Read("/gone"));

        // io_service_bytes was read, then the directory went before io_serviced.
        var midRead = new FakeCgroupFileSystem()
            .File("/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n")
            .File($"{DiskFixtures.V1Dir}/blkio.throttle.io_service_bytes_recursive", DiskFixtures.V1Bytes[0]);
        Assert.Null(Probe(CgroupsMountsTests.HybridSplitControllers, midRead).Read(DiskFixtures.V1Cgroup));
    }

    [Fact]
    public void A_cgroup_without_io_files_is_undecidable_with_the_reason()
    {
        // In the cpu hierarchy but not in blkio (a runtime that did not join it).
        var notInBlkio = new FakeCgroupFileSystem()
            .File("/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n")
            .Directory("/sys/fs/cgroup/cpu" + DiskFixtures.V1Cgroup, 11);
        DiskProbe probe = Probe(CgroupsMountsTests.HybridSplitControllers, notInBlkio);
        var r = (DiskReading)probe.Read(DiskFixtures.V1Cgroup)!;
        Assert.Equal(0, r.CgroupVersion);
        ResourceDiagnosis d = probe.Diagnose(DiskFixtures.V1Cgroup, r, r, Window);
        Assert.Equal(Outcomes.Undecidable, d.Outcome);
        Assert.Equal("the cgroup has no directory in the v1 blkio hierarchy", d.UndecidableReason);

        // v2 with the io controller not enabled for the cgroup.
        var noIo = new FakeCgroupFileSystem().File("/sys/fs/cgroup/cgroup.controllers", "cpu io memory\n").Directory(DiskFixtures.V2Dir, 21);
        DiskProbe v2 = Probe(CgroupsMountsTests.PureV2, noIo);
        Assert.Contains("subtree_control", v2.Diagnose(DiskFixtures.V2Pod, null, v2.Read(DiskFixtures.V2Pod)!, Window).UndecidableReason);

        // No blkio or io controller at all (HybridCombinedCpuCpuacct mounts no blkio; v2 lists no io).
        var none = new FakeCgroupFileSystem().File("/sys/fs/cgroup/unified/cgroup.controllers", "")
            .Directory("/sys/fs/cgroup/cpu,cpuacct/docker/abc", 31);
        DiskProbe noController = Probe(CgroupsMountsTests.HybridCombinedCpuCpuacct, none);
        Assert.Contains("no blkio (v1) or io (v2) controller", noController.Diagnose("/docker/abc", null, noController.Read("/docker/abc")!, Window).UndecidableReason);
    }

    [Fact]
    public void A_cgroup_that_appeared_during_the_window_is_undecidable()
    {
        DiskProbe probe = Probe(CgroupsMountsTests.HybridSplitControllers, V1Tree(1));

        ResourceDiagnosis d = probe.Diagnose(DiskFixtures.V1Cgroup, null, probe.Read(DiskFixtures.V1Cgroup)!, Window);

        Assert.Equal(Outcomes.Undecidable, d.Outcome);
        Assert.Contains("appeared during the window", d.UndecidableReason);
    }

    [Fact]
    public void Malformed_lines_are_counted_and_reported_with_the_verdict()
    {
        FakeCgroupFileSystem Tree(int i) => V1Tree(i, diskstats: DiskFixtures.V1Diskstats[i] + "   8 0 sdz broken\n")
            .File($"{DiskFixtures.V1Dir}/blkio.throttle.io_serviced_recursive", DiskFixtures.V1Ios[i] + "7:0 Write many\n");
        DiskProbe start = Probe(CgroupsMountsTests.HybridSplitControllers, Tree(0));
        (DiskReading a, DiskReading b) = Window2(start, Probe(CgroupsMountsTests.HybridSplitControllers, Tree(1)), DiskFixtures.V1Cgroup);

        Assert.Equal(2, b.MalformedLines);
        ResourceDiagnosis d = start.Diagnose(DiskFixtures.V1Cgroup, a, b, Window);
        Assert.Equal(Outcomes.ThrottleLimited, d.Outcome);
        Assert.EndsWith("[4 malformed lines of the I/O files and diskstats skipped]", d.Summary);
    }

    [Fact]
    public void Host_files_are_read_under_the_host_root()
    {
        string mountinfo = CgroupsMountsTests.HybridSplitControllers;
        var r = (DiskReading)Probe(mountinfo, V1Tree(1, root: "/host"), "/host").Read(DiskFixtures.V1Cgroup)!;

        Assert.Equal(1, r.CgroupVersion);
        Assert.Equal("loop0", r.Devices![new DeviceNumber(7, 0)].Name);
    }

    [Fact]
    public void Unreadable_files_read_as_missing_and_never_throw()
    {
        var denied = new DeniedFileSystem(V1Tree(1), "/proc/diskstats");
        var probe = new DiskProbe(new ResourceProbeContext(CgroupMounts.Parse(CgroupsMountsTests.HybridSplitControllers, readFile: denied.ReadAllText), "/"), denied);

        var r = (DiskReading)probe.Read(DiskFixtures.V1Cgroup)!;

        Assert.Null(r.Devices);
        DiskEvidence e = DiskProbe.Evidence(r, r with { Timestamp = r.Timestamp + Stopwatch.Frequency }, 1);
        Assert.Equal(Outcomes.NotLimited, DiskDiagnosis.Diagnose(e).Outcome); // no I/O between identical readings
    }

    [Fact]
    public void The_default_probes_include_the_disk_probe()
    {
        var mounts = CgroupMounts.Parse(CgroupsMountsTests.HybridSplitControllers, readFile: _ => "");
        Assert.Contains(ResourceProbes.Default(new ResourceProbeContext(mounts, "/")), p => p is DiskProbe && p.Resource == "disk");
    }

    private sealed class DeniedFileSystem(FakeCgroupFileSystem inner, string denied) : ICgroupFileSystem
    {
        public string? ReadAllText(string path) => path == denied ? throw new UnauthorizedAccessException(path) : inner.ReadAllText(path);

        public IEnumerable<string> EnumerateDirectories(string path) => inner.EnumerateDirectories(path);

        public ulong? Inode(string path) => inner.Inode(path);
    }
}
