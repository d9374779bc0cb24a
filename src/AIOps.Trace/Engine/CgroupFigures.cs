using AIOps.Trace.Cgroups;
using AIOps.Trace.Sources;

namespace AIOps.Trace;

/// <summary>A cgroup's own CPU counters at one moment: the kernel's truth that windows are differenced against.</summary>
/// <param name="Id">The cgroup id the counters were read under: a path removed and created again
/// names a new cgroup whose counters restarted from zero, and must not be subtracted from the old one's.</param>
internal readonly record struct CgroupFigures(CpuStat? Stat, long UsageNs, ulong Id = 0);

/// <summary>
/// Reads <see cref="CgroupFigures"/> for every cgroup of the cpu hierarchy, once per window: two small
/// files per cgroup (one on v2), held open between windows (<see cref="HeldCounterFiles"/>). A cgroup
/// whose usage did not move since the previous window keeps its previous cpu.stat: nothing of it
/// ran, so its throttling figures cannot have changed. The tree is scanned again every
/// <see cref="RescanEvery"/> passes (every pass by default); in between, cgroups that got a
/// scheduler event are indexed on first sight (<see cref="CgroupIndex.TryResolve"/>) and removed
/// ones drop out when their files fail with ENODEV. Used by the window cut only (one thread).
/// </summary>
internal sealed class CgroupSampler : IDisposable
{
    private readonly CgroupReader _reader;
    private readonly CgroupMount? _cpu;
    private readonly CgroupMount? _cpuacct;
    private readonly CgroupMount? _unified;
    private readonly HeldCounterFiles _files;
    private char[] _chars = new char[1024];
    private int _passesSinceScan;
    private bool _scanned;

    public CgroupSampler(CgroupMounts mounts, CgroupIndex index, HeldCounterFiles? files = null)
    {
        _reader = new CgroupReader(mounts);
        _cpu = mounts.ForController("cpu") ?? mounts.Unified;
        _cpuacct = mounts.ForController("cpuacct") is { Version: 1 } v1 ? v1 : null;
        _unified = mounts.Unified;
        _files = files ?? new HeldCounterFiles();
        Index = index;
    }

    public CgroupIndex Index { get; }

    public CgroupReader Reader => _reader;

    /// <summary>cpu.stat reads a window skipped because the cgroup's usage had not moved (for tests of the per-window work).</summary>
    public long SkippedStatReads { get; private set; }

    /// <summary>Scans of the whole tree <see cref="ReadAll"/> made (for tests of the per-window work).</summary>
    public long TreeScans { get; private set; }

    /// <summary>Counter files held open (for tests of bounded state).</summary>
    public int HeldFiles => _files.Held;

    /// <summary>Passes of <see cref="ReadAll"/> per scan of the whole tree: 1 (the default) scans every pass.</summary>
    public int RescanEvery
    {
        get;
        set => field = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(RescanEvery), value, "at least 1");
    } = 1;

    /// <summary>
    /// Figures of every cgroup, keyed by relative path, after a rescan of the tree when one is due.
    /// <paramref name="previous"/> (the last window's) lets idle cgroups skip their cpu.stat.
    /// A cgroup whose files are gone (removed since the last scan) is left out, as a scan would.
    /// </summary>
    /// <param name="ran">Cgroups with scheduler events in the window: a scan is made when one is not indexed yet.</param>
    /// <param name="into">A table to clear and fill instead of allocating one (the caller's baseline from the cut before last): at thousands of cgroups a new one is a large-object array every window.</param>
    public Dictionary<string, CgroupFigures> ReadAll(Dictionary<string, CgroupFigures>? previous = null, IReadOnlyList<ContainerSnapshot>? ran = null,
        Dictionary<string, CgroupFigures>? into = null)
    {
        if (into is not null && ReferenceEquals(into, previous))
            throw new ArgumentException("the table to fill cannot be the previous figures it is compared with", nameof(into));
        if (!_scanned || ++_passesSinceScan >= RescanEvery || Unindexed(ran))
        {
            Index.Refresh();
            TreeScans++;
            _passesSinceScan = 0;
            _scanned = true;
        }
        _files.BeginPass();
        Dictionary<string, CgroupFigures> all = into ?? new Dictionary<string, CgroupFigures>(Index.Count, StringComparer.Ordinal);
        all.Clear();
        foreach ((ulong id, string path) in Index.Entries)
            if (Read(path, id, previous) is { } figures)
                all[path] = figures;
        _files.Sweep();
        return all;
    }

    /// <summary>
    /// Scans the tree now when the next <see cref="ReadAll"/> would, and counts the scan as that
    /// pass's: called between two windows, it takes the scan off the cut. A cgroup that appears in
    /// between and runs is still indexed at the cut (a scheduler event of an unindexed cgroup makes a scan).
    /// </summary>
    public void ScanAheadIfDue()
    {
        if (!_scanned || _passesSinceScan + 1 < RescanEvery)
            return;
        Index.Refresh();
        TreeScans++;
        _passesSinceScan = -1; // the next ReadAll's pass is this scan's
    }

    public void Dispose() => _files.Dispose();

    private bool Unindexed(IReadOnlyList<ContainerSnapshot>? ran)
    {
        if (ran is null)
            return false;
        IReadOnlyDictionary<ulong, string> known = Index.Entries;
        for (int i = 0; i < ran.Count; i++)
            if (!known.ContainsKey(ran[i].CgroupId))
                return true;
        return false;
    }

    private CgroupFigures? Read(string path, ulong id, Dictionary<string, CgroupFigures>? previous)
    {
        // A path may be missing from the cpuacct hierarchy alone (v1 hierarchies are separate
        // trees): only the cpu hierarchy's file, the index's own, says the cgroup is gone.
        long usage = -1;
        if (_cpuacct is not null && _files.TryRead(id, HeldCounterFiles.Slot.Usage, _cpuacct, path, "cpuacct.usage", out ReadOnlySpan<byte> bytes, out _))
            usage = System.Buffers.Text.Utf8Parser.TryParse(bytes, out long value, out _) ? value : -1;
        if (usage >= 0 && previous is not null && previous.TryGetValue(path, out CgroupFigures before) && before.Id == id && before.UsageNs == usage)
        {
            SkippedStatReads++;
            return before;
        }
        CpuStat? stat = ReadStat(_cpu, HeldCounterFiles.Slot.Stat, path, id, out bool gone);
        if (gone)
            return null;
        if (usage < 0)
            // v2 (or no v1 cpuacct): cpu.stat's usage_usec, in the unified hierarchy's cpu.stat.
            usage = (_cpu == _unified ? stat : ReadStat(_unified, HeldCounterFiles.Slot.UnifiedStat, path, id, out _))?.UsageNs ?? -1;
        return new CgroupFigures(stat, usage, id);
    }

    private CpuStat? ReadStat(CgroupMount? mount, HeldCounterFiles.Slot slot, string path, ulong id, out bool gone)
    {
        gone = false;
        if (mount is null || !_files.TryRead(id, slot, mount, path, "cpu.stat", out ReadOnlySpan<byte> bytes, out gone))
            return null;
        if (_chars.Length < bytes.Length)
            _chars = new char[bytes.Length * 2];
        int n = System.Text.Encoding.ASCII.GetChars(bytes, _chars);
        return CpuStat.Parse(_chars.AsSpan(0, n));
    }
}
