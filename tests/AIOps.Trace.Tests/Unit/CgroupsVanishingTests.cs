using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Tests.Unit;

/// <summary>
/// Cgroups vanish while they are read: their files fail with ENOENT or, once the directory is
/// being torn down, ENODEV. Whatever the file system layer lets through, the readers and the
/// index treat the cgroup as gone: null figures, unknown limits, skipped in a scan, never an exception.
/// </summary>
public sealed class CgroupsVanishingTests
{
    private const string Hybrid =
        "30 23 0:26 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw\n" +
        "31 23 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n" +
        "32 23 0:28 / /sys/fs/cgroup/cpuset rw,nosuid - cgroup cgroup rw,cpuset\n";

    private const string Cpu = "/sys/fs/cgroup/cpu,cpuacct";

    /// <summary>A tree whose cgroup "/web" disappears after <c>survive</c> operations touching it; then every touch throws.</summary>
    private sealed class VanishingFileSystem(FakeCgroupFileSystem tree, string vanishing, int survive, Func<string, Exception> error) : ICgroupFileSystem
    {
        private int _touches;

        public bool Gone => _touches > survive;

        private void Touch(string path)
        {
            if (!path.Contains(vanishing, StringComparison.Ordinal))
                return;
            if (++_touches > survive)
                throw error(path);
        }

        public string? ReadAllText(string path)
        {
            Touch(path);
            return tree.ReadAllText(path);
        }

        public IEnumerable<string> EnumerateDirectories(string path)
        {
            Touch(path);
            return tree.EnumerateDirectories(path);
        }

        public ulong? Inode(string path)
        {
            Touch(path);
            return tree.Inode(path);
        }
    }

    private static readonly Func<string, Exception> Enoent = p => new FileNotFoundException($"Could not find file '{p}'.", p);
    private static readonly Func<string, Exception> Enodev = p => new IOException($"No such device : '{p}'", 19);

    private static FakeCgroupFileSystem Tree() => new FakeCgroupFileSystem()
        .Directory(Cpu, 1).Directory(Cpu + "/web", 2).Directory(Cpu + "/web/app", 3).Directory(Cpu + "/db", 4)
        .File(Cpu + "/web/cpu.stat", "nr_periods 10\nnr_throttled 2\nthrottled_time 5000\n")
        .File(Cpu + "/web/cpuacct.usage", "123456\n")
        .File(Cpu + "/web/cpu.cfs_quota_us", "20000\n")
        .File(Cpu + "/web/cpu.cfs_period_us", "100000\n")
        .File(Cpu + "/web/cpu.shares", "1024\n")
        .File("/sys/fs/cgroup/cpuset/web/cpuset.cpus", "0-1\n")
        .File(Cpu + "/db/cpu.stat", "nr_periods 1\nnr_throttled 0\nthrottled_time 0\n")
        .File(Cpu + "/db/cpuacct.usage", "77\n");

    private static CgroupReader Reader(ICgroupFileSystem fs) => new(CgroupMounts.Parse(Hybrid, readFile: _ => null), fs);

    [Theory]
    [InlineData("ENOENT", 0)]
    [InlineData("ENOENT", 1)]
    [InlineData("ENOENT", 3)]
    [InlineData("ENODEV", 0)]
    [InlineData("ENODEV", 2)]
    [InlineData("ENODEV", 5)]
    public void Figures_and_limits_of_a_cgroup_vanishing_midway_are_what_was_seen(string errno, int survive)
    {
        var fs = new VanishingFileSystem(Tree(), "/web", survive, errno == "ENOENT" ? Enoent : Enodev);
        CgroupReader reader = Reader(fs);

        CpuStat? stat = reader.ReadCpuStat("/web");
        long usage = reader.ReadCpuUsageNs("/web");
        CpuLimits limits = reader.ReadCpuLimits("/web");

        // Each read either saw the file before the cgroup went, or reports it unknown.
        Assert.True(stat is null || stat.Value.ThrottledNs == 5000);
        Assert.True(usage is -1 or 123456, $"usage {usage}");
        Assert.True(limits.QuotaUs is -1 or 20000 && limits.PeriodUs is -1 or 100000 && limits.Shares is -1 or 1024);
        Assert.True(limits.CpusetCpus is null or "0-1");
        Assert.True(fs.Gone);
        if (survive == 0)
        {
            Assert.Equal((null, -1L, CpuLimits.Unknown), (stat, usage, limits));
        }
        // Its sibling is untouched.
        Assert.Equal(77, reader.ReadCpuUsageNs("/db"));
    }

    [Theory]
    [InlineData("ENOENT", 0)]
    [InlineData("ENOENT", 1)]
    [InlineData("ENODEV", 0)]
    [InlineData("ENODEV", 1)]
    public void A_scan_skips_a_cgroup_that_vanishes_while_it_is_walked(string errno, int survive)
    {
        var fs = new VanishingFileSystem(Tree(), "/web", survive, errno == "ENOENT" ? Enoent : Enodev);
        var index = new CgroupIndex(Cpu, fs);

        index.Refresh();

        Assert.Equal("/db", index.Entries[4]);
        Assert.Equal("/", index.Entries[1]);
        Assert.False(index.Entries.ContainsKey(3), "the child of a vanished cgroup cannot be listed");
        // Gone before its inode was read (0), or after (1): either way no exception, and no id for a path it could not stat.
        Assert.Equal(survive >= 1, index.Entries.ContainsKey(2));
        Assert.Null(index.IdOf("/web"));
        Assert.False(index.TryResolve(99, out _));
    }
}
