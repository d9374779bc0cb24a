namespace AIOps.Trace.Cgroups;

/// <summary>
/// Reads a cgroup's CPU figures from whichever hierarchy holds them: the v1 controller's mount
/// when the controller is bound to v1 (hybrid and legacy layouts), else the unified hierarchy.
/// Paths are relative to the hierarchy root, e.g. "/aiops-test/web-1".
/// </summary>
public sealed class CgroupReader
{
    private readonly CgroupMounts _mounts;
    private readonly ICgroupFileSystem _fs;

    /// <summary>Reads the live cgroup file system.</summary>
    public CgroupReader(CgroupMounts mounts)
        : this(mounts, RealCgroupFileSystem.Instance)
    {
    }

    internal CgroupReader(CgroupMounts mounts, ICgroupFileSystem fs)
    {
        ArgumentNullException.ThrowIfNull(mounts);
        ArgumentNullException.ThrowIfNull(fs);
        _mounts = mounts;
        _fs = fs;
    }

    /// <summary>The cgroup's cpu.stat, or null when the cgroup or the file does not exist.</summary>
    public CpuStat? ReadCpuStat(string relPath)
    {
        // v2 has cpu.stat in every cgroup even without the cpu controller (usage only, no
        // throttling keys), so the unified mount is the fallback.
        CgroupMount? mount = _mounts.ForController("cpu") ?? _mounts.Unified;
        string? text = mount is null ? null : Read(mount.PathOf(relPath, "cpu.stat"));
        return text is null ? null : CpuStat.Parse(text);
    }

    /// <summary>Total CPU time used in ns: v1 cpuacct.usage, else v2 cpu.stat usage_usec; -1 if neither exists.</summary>
    public long ReadCpuUsageNs(string relPath)
    {
        CgroupMount? cpuacct = _mounts.ForController("cpuacct");
        if (cpuacct is { Version: 1 } && ReadLong(cpuacct, relPath, "cpuacct.usage") is long usage)
            return usage;

        if (_mounts.Unified is { } unified && Read(unified.PathOf(relPath, "cpu.stat")) is { } text)
            return CpuStat.Parse(text).UsageNs;

        return -1;
    }

    /// <summary>
    /// Quota, period, shares or weight and cpuset of the cgroup. Fields whose file is missing
    /// are -1 (null for the cpuset); an unlimited quota is -1 too.
    /// </summary>
    public CpuLimits ReadCpuLimits(string relPath)
    {
        CpuLimits limits = CpuLimits.Unknown;
        switch (_mounts.ForController("cpu"))
        {
            case { Version: 1 } v1:
                limits = limits with
                {
                    QuotaUs = ReadLong(v1, relPath, "cpu.cfs_quota_us") ?? -1,
                    PeriodUs = ReadLong(v1, relPath, "cpu.cfs_period_us") ?? -1,
                    Shares = ReadLong(v1, relPath, "cpu.shares") ?? -1,
                };
                break;
            case { Version: 2 } v2:
                if (Read(v2.PathOf(relPath, "cpu.max")) is { } max)
                {
                    (long quota, long period) = CpuLimits.ParseCpuMax(max);
                    limits = limits with { QuotaUs = quota, PeriodUs = period };
                }
                limits = limits with { Weight = ReadLong(v2, relPath, "cpu.weight") ?? -1 };
                break;
        }

        // v2's cpuset.cpus is what was asked for (often empty); .effective is what the
        // cgroup actually gets after its ancestors' restrictions.
        string? cpus = _mounts.ForController("cpuset") switch
        {
            { Version: 1 } m => Read(m.PathOf(relPath, "cpuset.cpus")),
            { Version: 2 } m => Read(m.PathOf(relPath, "cpuset.cpus.effective")),
            _ => null,
        };
        return limits with { CpusetCpus = cpus?.Trim() };
    }

    // A cgroup removed while it is read makes its files fail with ENOENT or ENODEV: whatever the
    // file system layer lets through, a vanished file is a missing one, never an error.
    private string? Read(string path)
    {
        try
        {
            return _fs.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private long? ReadLong(CgroupMount mount, string relPath, string fileName)
    {
        string? text = Read(mount.PathOf(relPath, fileName));
        return text is not null && long.TryParse(text.AsSpan().Trim(), out long value) ? value : null;
    }
}
