using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Tests.Unit;

public class CgroupsMountsTests
{
    // Recorded on the development VM: cgroupfs v1 controllers each on their own mount plus a
    // cgroup2 mount at /sys/fs/cgroup/unified that only holds hugetlb.
    internal const string HybridSplitControllers = """
        21 26 0:20 / /proc rw,relatime - proc proc rw
        22 26 0:21 / /sys rw,relatime - sysfs sysfs rw
        26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534
        30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
        33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
        34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        35 30 0:32 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
        36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
        37 30 0:34 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
        38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
        40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """;

    // Ubuntu 20.04 with systemd's hybrid default: combined cpu,cpuacct and net_cls,net_prio mounts.
    internal const string HybridCombinedCpuCpuacct = """
        24 31 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
        33 24 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
        34 33 0:29 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
        35 33 0:30 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
        38 33 0:33 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
        39 33 0:34 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,net_cls,net_prio
        40 33 0:35 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,cpuset,clone_children
        41 33 0:36 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,memory
        """;

    // Ubuntu 22.04 / Fedora: the unified hierarchy only.
    internal const string PureV2 = """
        22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
        26 22 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
        27 22 0:26 / /sys/fs/pstore rw,nosuid,nodev,noexec,relatime shared:10 - pstore pstore rw
        """;

    [Fact]
    public void Hybrid_SplitControllers_AsOnThisMachine()
    {
        var mounts = CgroupMounts.Parse(HybridSplitControllers, readFile: _ => "hugetlb\n");

        Assert.Equal("hybrid", mounts.Layout);
        Assert.Equal(10, mounts.Mounts.Count);
        Assert.Equal(0, mounts.SkippedLines);
        Assert.Equal("/sys/fs/cgroup/cpu", mounts.ForController("cpu")!.MountPoint);
        Assert.Equal("/sys/fs/cgroup/cpuacct", mounts.ForController("cpuacct")!.MountPoint);
        Assert.Equal("/sys/fs/cgroup/systemd", mounts.ForController("name=systemd")!.MountPoint);
        Assert.Equal(["cpu"], mounts.ForController("cpu")!.Controllers);
        Assert.Equal("/sys/fs/cgroup/unified", mounts.Unified!.MountPoint);
        Assert.Same(mounts.Unified, mounts.ForController("hugetlb")); // listed only in cgroup.controllers
        Assert.Null(mounts.ForController("rdma"));
    }

    [Fact]
    public void Hybrid_CombinedCpuCpuacct_ListsBothControllersOnOneMount()
    {
        var mounts = CgroupMounts.Parse(HybridCombinedCpuCpuacct, readFile: _ => "");

        CgroupMount cpu = mounts.ForController("cpu")!;
        Assert.Equal("/sys/fs/cgroup/cpu,cpuacct", cpu.MountPoint);
        Assert.Equal(1, cpu.Version);
        Assert.Equal(["cpu", "cpuacct"], cpu.Controllers);
        Assert.Same(cpu, mounts.ForController("cpuacct"));
        Assert.Equal(["cpuset"], mounts.ForController("cpuset")!.Controllers); // clone_children is an option
        Assert.Equal(["name=systemd"], mounts.ForController("name=systemd")!.Controllers); // xattr too
        Assert.Equal("hybrid", mounts.Layout);
    }

    [Fact]
    public void PureV2_AnswersControllersFromTheRootControllersFile()
    {
        var asked = new List<string>();
        var mounts = CgroupMounts.Parse(PureV2, readFile: path =>
        {
            asked.Add(path);
            return "cpuset cpu io memory hugetlb pids rdma misc\n";
        });

        Assert.Equal("v2", mounts.Layout);
        CgroupMount unified = Assert.Single(mounts.Mounts);
        Assert.Equal(2, unified.Version);
        Assert.Empty(unified.Controllers);
        Assert.Same(unified, mounts.ForController("cpu"));
        Assert.Same(unified, mounts.ForController("cpuset"));
        Assert.Null(mounts.ForController("cpuacct")); // v1 only
        Assert.Equal(["/sys/fs/cgroup/cgroup.controllers"], asked.Distinct());
    }

    [Fact]
    public void LegacyV1_WithoutCgroup2()
    {
        const string centos7 = """
            25 18 0:21 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:6 - tmpfs tmpfs ro,mode=755
            26 25 0:22 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:7 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
            31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,cpuacct,cpu
            """;
        var mounts = CgroupMounts.Parse(centos7, readFile: _ => throw new InvalidOperationException("no v2 to ask"));

        Assert.Equal("v1", mounts.Layout);
        Assert.Null(mounts.Unified);
        Assert.Equal(["name=systemd"], mounts.ForController("name=systemd")!.Controllers);
        Assert.Equal(["cpuacct", "cpu"], mounts.ForController("cpu")!.Controllers);
        Assert.Null(mounts.ForController("memory"));
    }

    [Fact]
    public void HostRoot_PrefixesMountPoints()
    {
        string? asked = null;
        var mounts = CgroupMounts.Parse(PureV2, "/host/", path => { asked = path; return "cpu"; });

        Assert.Equal("/host/sys/fs/cgroup", mounts.Unified!.MountPoint);
        Assert.NotNull(mounts.ForController("cpu"));
        Assert.Equal("/host/sys/fs/cgroup/cgroup.controllers", asked);
        Assert.Equal("/host/sys/fs/cgroup/a/b/cpu.stat", mounts.Unified.PathOf("/a/b", "cpu.stat"));
    }

    [Fact]
    public void Escapes_AndContainerRoots_AreDecoded()
    {
        const string text = """
            50 40 0:40 /docker/0123abcd /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw
            51 40 0:41 / /mnt/my\040cgroups\134v1 rw - cgroup cgroup rw,pids
            """;
        var mounts = CgroupMounts.Parse(text, readFile: _ => null);

        Assert.Equal(@"/mnt/my cgroups\v1", mounts.ForController("pids")!.MountPoint);
        CgroupMount unified = mounts.Unified!;
        Assert.Equal("/docker/0123abcd", unified.Root);
        // Paths from the hierarchy root lose the part the mount already shows.
        Assert.Equal("/sys/fs/cgroup/init/cpu.stat", unified.PathOf("/docker/0123abcd/init", "cpu.stat"));
        Assert.Equal("/sys/fs/cgroup", unified.PathOf("/docker/0123abcd"));
        Assert.Null(mounts.ForController("cpu")); // no cgroup.controllers file
    }

    [Fact]
    public void MalformedLines_AreSkippedAndCounted()
    {
        const string text = """
            garbage
            1 2 3
            31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime shared:1 cgroup cgroup rw,cpu
            32 30 0:29 relative /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct
            33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
            """;
        var mounts = CgroupMounts.Parse(text, readFile: _ => null);

        Assert.Equal(4, mounts.SkippedLines);
        Assert.Equal("/sys/fs/cgroup/cpuset", Assert.Single(mounts.Mounts).MountPoint);
        Assert.Equal("v1", mounts.Layout);
    }

    [Fact]
    public void Discover_ReadsHostInitMountinfo_UnderAHostRoot()
    {
        var mounts = CgroupMounts.Discover("/host", path => path switch
        {
            "/host/proc/1/mountinfo" => PureV2,
            "/host/sys/fs/cgroup/cgroup.controllers" => "cpu memory",
            _ => null,
        });

        Assert.Equal("/host/sys/fs/cgroup", mounts.ForController("memory")!.MountPoint);
    }

    [Fact]
    public void Discover_OnThisMachine_FindsTheCpuController()
    {
        var mounts = CgroupMounts.Discover();

        Assert.NotEqual("none", mounts.Layout);
        Assert.NotNull(mounts.ForController("cpu"));
    }
}
