using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Tests.Unit;

public class CgroupsReaderTests
{
    [Fact]
    public void Hybrid_ReadsV1CpuFiles_AndCpuacctFromItsOwnMount()
    {
        var fs = new FakeCgroupFileSystem()
            .File("/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n")
            .File("/sys/fs/cgroup/cpu/aiops-test/web-1/cpu.stat", CgroupsCpuStatTests.V1Text)
            .File("/sys/fs/cgroup/cpu/aiops-test/web-1/cpu.cfs_quota_us", "20000\n")
            .File("/sys/fs/cgroup/cpu/aiops-test/web-1/cpu.cfs_period_us", "100000\n")
            .File("/sys/fs/cgroup/cpu/aiops-test/web-1/cpu.shares", "512\n")
            .File("/sys/fs/cgroup/cpuacct/aiops-test/web-1/cpuacct.usage", "987654321\n")
            .File("/sys/fs/cgroup/cpuset/aiops-test/web-1/cpuset.cpus", "0-1\n");
        var reader = Reader(CgroupsMountsTests.HybridSplitControllers, fs);

        Assert.Equal(CpuStat.Parse(CgroupsCpuStatTests.V1Text), reader.ReadCpuStat("/aiops-test/web-1"));
        Assert.Equal(987_654_321, reader.ReadCpuUsageNs("/aiops-test/web-1"));
        var limits = reader.ReadCpuLimits("/aiops-test/web-1");
        Assert.Equal(new CpuLimits(20_000, 100_000, 512, -1, "0-1"), limits);
        Assert.Equal(0.2, limits.QuotaCpus);
    }

    [Fact]
    public void CombinedCpuCpuacct_ReadsUsageFromTheSharedMount()
    {
        var fs = new FakeCgroupFileSystem()
            .File("/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpuacct.usage", "42\n")
            .File("/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n")
            .File("/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n")
            .File("/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.shares", "1024\n");
        var reader = Reader(CgroupsMountsTests.HybridCombinedCpuCpuacct, fs);

        Assert.Equal(42, reader.ReadCpuUsageNs("/docker/abc"));
        var limits = reader.ReadCpuLimits("/docker/abc");
        Assert.Equal(new CpuLimits(-1, 100_000, 1024, -1, null), limits); // no cpuset.cpus recorded
        Assert.Null(limits.QuotaCpus);
    }

    [Fact]
    public void PureV2_ReadsCpuMaxWeightAndEffectiveCpus()
    {
        var fs = new FakeCgroupFileSystem()
            .File("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
            .File("/sys/fs/cgroup/kubepods.slice/pod1/cpu.stat", CgroupsCpuStatTests.V2Text)
            .File("/sys/fs/cgroup/kubepods.slice/pod1/cpu.max", "150000 100000\n")
            .File("/sys/fs/cgroup/kubepods.slice/pod1/cpu.weight", "79\n")
            .File("/sys/fs/cgroup/kubepods.slice/pod1/cpuset.cpus.effective", "0-3\n")
            .File("/sys/fs/cgroup/unlimited/cpu.max", "max 100000\n");
        var reader = Reader(CgroupsMountsTests.PureV2, fs);

        var stat = reader.ReadCpuStat("/kubepods.slice/pod1");
        Assert.Equal(120, stat!.Value.ThrottledPeriods);
        Assert.Equal(48_112_345_000, reader.ReadCpuUsageNs("/kubepods.slice/pod1"));
        Assert.Equal(new CpuLimits(150_000, 100_000, -1, 79, "0-3"), reader.ReadCpuLimits("/kubepods.slice/pod1"));
        Assert.Equal(1.5, reader.ReadCpuLimits("/kubepods.slice/pod1").QuotaCpus);
        Assert.Equal(new CpuLimits(-1, 100_000, -1, -1, null), reader.ReadCpuLimits("/unlimited"));
    }

    [Fact]
    public void Hybrid_FallsBackToV2CpuStat_ForUsage()
    {
        // A cgroup only the unified hierarchy knows (systemd's own units on a hybrid host).
        var fs = new FakeCgroupFileSystem()
            .File("/sys/fs/cgroup/unified/cgroup.controllers", "")
            .File("/sys/fs/cgroup/unified/system.slice/cron.service/cpu.stat", "usage_usec 5\nuser_usec 3\nsystem_usec 2\n");
        var reader = Reader(CgroupsMountsTests.HybridSplitControllers, fs);

        Assert.Equal(5_000, reader.ReadCpuUsageNs("/system.slice/cron.service"));
        Assert.Null(reader.ReadCpuStat("/system.slice/cron.service")); // cpu is bound to v1
    }

    [Fact]
    public void MissingCgroup_ReadsAsUnknown()
    {
        var reader = Reader(CgroupsMountsTests.PureV2, new FakeCgroupFileSystem().File("/sys/fs/cgroup/cgroup.controllers", "cpu"));

        Assert.Null(reader.ReadCpuStat("/gone"));
        Assert.Equal(-1, reader.ReadCpuUsageNs("/gone"));
        Assert.Equal(CpuLimits.Unknown, reader.ReadCpuLimits("/gone"));
    }

    [Theory]
    [InlineData("max 100000", -1, 100_000)]
    [InlineData("20000 100000\n", 20_000, 100_000)]
    [InlineData("max", -1, -1)]
    [InlineData("", -1, -1)]
    public void CpuMax_Parses(string text, long quota, long period) =>
        Assert.Equal((quota, period), CpuLimits.ParseCpuMax(text));

    private static CgroupReader Reader(string mountinfo, FakeCgroupFileSystem fs) =>
        new(CgroupMounts.Parse(mountinfo, readFile: fs.ReadAllText), fs);
}

/// <summary>An in-memory cgroup tree: files with text, directories with inode numbers.</summary>
internal sealed class FakeCgroupFileSystem : ICgroupFileSystem
{
    private readonly Dictionary<string, string> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ulong> _dirs = new(StringComparer.Ordinal);

    public int InodeCalls { get; private set; }

    public FakeCgroupFileSystem File(string path, string text)
    {
        _files[path] = text;
        return this;
    }

    public FakeCgroupFileSystem Directory(string path, ulong inode)
    {
        _dirs[path] = inode;
        return this;
    }

    public void RemoveDirectory(string path)
    {
        foreach (string dir in _dirs.Keys.Where(d => d == path || d.StartsWith(path + "/", StringComparison.Ordinal)).ToList())
            _dirs.Remove(dir);
    }

    public string? ReadAllText(string path) => _files.GetValueOrDefault(path);

    public IEnumerable<string> EnumerateDirectories(string path) =>
        _dirs.Keys.Where(d => d.StartsWith(path.TrimEnd('/') + "/", StringComparison.Ordinal)
                              && d.IndexOf('/', path.TrimEnd('/').Length + 1) < 0).ToList();

    public ulong? Inode(string path)
    {
        InodeCalls++;
        return _dirs.TryGetValue(path, out ulong inode) ? inode : null;
    }
}
