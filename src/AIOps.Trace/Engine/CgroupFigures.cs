using AIOps.Trace.Cgroups;
using AIOps.Trace.Sources;

namespace AIOps.Trace;

/// <summary>A cgroup's own CPU counters at one moment: the kernel's truth that windows are differenced against.</summary>
/// <param name="Id">The cgroup id the counters were read under: a path removed and created again
/// names a new cgroup whose counters restarted from zero, and must not be subtracted from the old one's.</param>
internal readonly record struct CgroupFigures(CpuStat? Stat, long UsageNs, ulong Id = 0);

/// <summary>
/// Reads <see cref="CgroupFigures"/> for every cgroup of the cpu hierarchy, once per window: two small
/// files per cgroup (one on v2), through one reused buffer. A cgroup whose usage did not move since
/// the previous window keeps its previous cpu.stat: nothing of it ran, so its throttling figures
/// cannot have changed. Used by the window cut only (one thread).
/// </summary>
internal sealed class CgroupSampler
{
    private readonly CgroupReader _reader;
    private readonly CgroupMount? _cpu;
    private readonly CgroupMount? _cpuacct;
    private readonly CgroupMount? _unified;
    private readonly ProcfsReader _files = new();
    private char[] _chars = new char[1024];

    public CgroupSampler(CgroupMounts mounts, CgroupIndex index)
    {
        _reader = new CgroupReader(mounts);
        _cpu = mounts.ForController("cpu") ?? mounts.Unified;
        _cpuacct = mounts.ForController("cpuacct") is { Version: 1 } v1 ? v1 : null;
        _unified = mounts.Unified;
        Index = index;
    }

    public CgroupIndex Index { get; }

    public CgroupReader Reader => _reader;

    /// <summary>cpu.stat reads a window skipped because the cgroup's usage had not moved (for tests of the per-window work).</summary>
    public long SkippedStatReads { get; private set; }

    /// <summary>
    /// Figures of every cgroup, keyed by relative path, after a rescan of the tree.
    /// <paramref name="previous"/> (the last window's) lets idle cgroups skip their cpu.stat.
    /// </summary>
    public Dictionary<string, CgroupFigures> ReadAll(Dictionary<string, CgroupFigures>? previous = null)
    {
        Index.Refresh();
        var all = new Dictionary<string, CgroupFigures>(Index.Count, StringComparer.Ordinal);
        foreach ((ulong id, string path) in Index.Entries)
            all[path] = Read(path, id, previous);
        return all;
    }

    private CgroupFigures Read(string path, ulong id, Dictionary<string, CgroupFigures>? previous)
    {
        long usage = _cpuacct is null ? -1 : ReadUsage(_cpuacct.PathOf(path, "cpuacct.usage"));
        if (usage >= 0 && previous is not null && previous.TryGetValue(path, out CgroupFigures before) && before.Id == id && before.UsageNs == usage)
        {
            SkippedStatReads++;
            return before;
        }
        CpuStat? stat = ReadStat(_cpu, path);
        if (usage < 0)
            // v2 (or no v1 cpuacct): cpu.stat's usage_usec, in the unified hierarchy's cpu.stat.
            usage = (_cpu == _unified ? stat : ReadStat(_unified, path))?.UsageNs ?? -1;
        return new CgroupFigures(stat, usage, id);
    }

    private CpuStat? ReadStat(CgroupMount? mount, string path)
    {
        if (mount is null || !_files.TryRead(mount.PathOf(path, "cpu.stat"), out ReadOnlySpan<byte> bytes))
            return null;
        if (_chars.Length < bytes.Length)
            _chars = new char[bytes.Length * 2];
        int n = System.Text.Encoding.ASCII.GetChars(bytes, _chars);
        return CpuStat.Parse(_chars.AsSpan(0, n));
    }

    private long ReadUsage(string file) =>
        _files.TryRead(file, out ReadOnlySpan<byte> bytes) && System.Buffers.Text.Utf8Parser.TryParse(bytes, out long usage, out _) ? usage : -1;
}
