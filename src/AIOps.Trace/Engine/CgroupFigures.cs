using AIOps.Trace.Cgroups;

namespace AIOps.Trace;

/// <summary>A cgroup's own CPU counters at one moment: the kernel's truth that windows are differenced against.</summary>
/// <param name="Id">The cgroup id the counters were read under: a path removed and created again
/// names a new cgroup whose counters restarted from zero, and must not be subtracted from the old one's.</param>
internal readonly record struct CgroupFigures(CpuStat? Stat, long UsageNs, ulong Id = 0);

/// <summary>Reads <see cref="CgroupFigures"/> for every cgroup of the cpu hierarchy.</summary>
internal sealed class CgroupSampler
{
    private readonly CgroupReader _reader;

    public CgroupSampler(CgroupMounts mounts, CgroupIndex index)
    {
        _reader = new CgroupReader(mounts);
        Index = index;
    }

    public CgroupIndex Index { get; }

    public CgroupReader Reader => _reader;

    public CgroupFigures Read(string relativePath) =>
        new(_reader.ReadCpuStat(relativePath), _reader.ReadCpuUsageNs(relativePath));

    /// <summary>Figures of every cgroup, keyed by relative path, after a rescan of the tree.</summary>
    public Dictionary<string, CgroupFigures> ReadAll()
    {
        Index.Refresh();
        var all = new Dictionary<string, CgroupFigures>(Index.Count, StringComparer.Ordinal);
        foreach ((ulong id, string path) in Index.Entries)
            all[path] = Read(path) with { Id = id };
        return all;
    }
}
