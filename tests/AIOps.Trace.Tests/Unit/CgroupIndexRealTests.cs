using System.Diagnostics;
using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Tests.Unit;

/// <summary>
/// Against the live cgroupfs. Needs root (to create a cgroup and set its quota) and a mounted
/// cpu controller; our machines and CI have both, so these run rather than skip. Ground truth
/// for inode numbers comes from coreutils stat(1), not from our own statx call.
/// </summary>
public sealed class CgroupIndexRealTests : IDisposable
{
    private readonly CgroupMounts _mounts = CgroupMounts.Discover();
    private readonly CgroupMount _cpu;
    private readonly string _relativePath = $"/aiops-unit-{Guid.NewGuid():N}"[..24];
    private readonly string _directory;
    private Process? _burner;

    public CgroupIndexRealTests()
    {
        Assert.True(Environment.IsPrivilegedProcess, "creating a cgroup needs root");
        _cpu = _mounts.ForController("cpu") ?? throw new InvalidOperationException($"no cpu controller mounted (layout {_mounts.Layout})");
        _directory = _cpu.PathOf(_relativePath);
        Directory.CreateDirectory(_directory);
    }

    public void Dispose()
    {
        // The cgroup cannot be removed while a task is in it, and a task that was just killed
        // leaves it asynchronously: kill, wait, then retry rmdir briefly on EBUSY.
        if (_burner is { } burner)
        {
            if (!burner.HasExited)
                burner.Kill();
            burner.WaitForExit();
            burner.Dispose();
        }

        for (int attempt = 0; Directory.Exists(_directory); attempt++)
        {
            try
            {
                Directory.Delete(_directory); // rmdir(2); cgroupfs control files go with it
            }
            catch (IOException) when (attempt < 50)
            {
                Thread.Sleep(20);
            }
        }
    }

    [Fact]
    public void Index_ResolvesTheInodeOfANewCgroup_ToItsPath()
    {
        ulong inode = StatInode(_directory);
        var index = new CgroupIndex(_cpu.MountPoint);

        Assert.Equal(inode, index.IdOf(_relativePath));
        Assert.True(index.TryResolve(inode, out string? path));
        Assert.Equal(_relativePath, path);
        Assert.True(index.TryResolve(StatInode(_cpu.MountPoint), out string? root));
        Assert.Equal("/", root);
    }

    [Fact]
    public void RealFileSystem_InodeMatchesStat_AndMissingPathsAreNull()
    {
        var fs = RealCgroupFileSystem.Instance;

        Assert.Equal(StatInode(_directory), fs.Inode(_directory));
        Assert.Equal(StatInode("/etc"), fs.Inode("/etc")); // not a cgroupfs: statx is generic
        Assert.Null(fs.Inode(_directory + "/no-such-child"));
        Assert.Null(fs.ReadAllText(_directory + "/no-such-file"));
        Assert.Empty(fs.EnumerateDirectories(_directory + "/no-such-child"));
    }

    [Fact]
    public void Reader_ReadsQuotaBack_AndSeesThrottlingOfABusyTask()
    {
        var reader = new CgroupReader(_mounts);
        SetQuota(20_000, 100_000);

        CpuLimits limits = reader.ReadCpuLimits(_relativePath);
        Assert.Equal(20_000, limits.QuotaUs);
        Assert.Equal(100_000, limits.PeriodUs);
        Assert.Equal(0.2, limits.QuotaCpus);

        CpuStat before = reader.ReadCpuStat(_relativePath) ?? throw new Xunit.Sdk.XunitException("cpu.stat missing");
        Assert.Equal(0, before.ThrottledPeriods);

        // A shell spinning on a builtin never forks, so one task uses the whole quota and the
        // kernel throttles it every 100 ms period.
        _burner = Process.Start(new ProcessStartInfo("sh", ["-c", "while :; do :; done"]))!;
        File.WriteAllText(_cpu.PathOf(_relativePath, "cgroup.procs"), _burner.Id.ToString());
        Thread.Sleep(600);

        CpuStat delta = reader.ReadCpuStat(_relativePath)!.Value.Delta(before);
        Assert.InRange(delta.Periods, 3, 20);
        Assert.True(delta.ThrottledPeriods >= 2, $"throttled in {delta.ThrottledPeriods} of {delta.Periods} periods");
        Assert.True(delta.ThrottledNs > 0);
    }

    [Fact]
    public void Reader_ReadsRootUsage()
    {
        var reader = new CgroupReader(_mounts);

        Assert.True(reader.ReadCpuUsageNs("/") > 0);
        Assert.Null(reader.ReadCpuStat(_relativePath + "/gone"));
    }

    private void SetQuota(long quotaUs, long periodUs)
    {
        if (_cpu.Version == 1)
        {
            File.WriteAllText(_cpu.PathOf(_relativePath, "cpu.cfs_period_us"), periodUs.ToString());
            File.WriteAllText(_cpu.PathOf(_relativePath, "cpu.cfs_quota_us"), quotaUs.ToString());
        }
        else
        {
            File.WriteAllText(_cpu.PathOf(_relativePath, "cpu.max"), $"{quotaUs} {periodUs}");
        }
    }

    private static ulong StatInode(string path)
    {
        using var stat = Process.Start(new ProcessStartInfo("stat", ["-L", "-c", "%i", path]) { RedirectStandardOutput = true })!;
        string output = stat.StandardOutput.ReadToEnd();
        stat.WaitForExit();
        Assert.Equal(0, stat.ExitCode);
        return ulong.Parse(output.Trim());
    }
}
