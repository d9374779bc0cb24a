using System.Diagnostics;
using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Diagnosis;

/// <summary>
/// One cgroup's memory counters and the host's memory pressure at one instant. Counters are
/// cumulative as the kernel keeps them; -1 marks a value the kernel does not give.
/// </summary>
/// <param name="Timestamp">When it was read (Stopwatch ticks).</param>
/// <param name="CgroupVersion">1 or 2: the hierarchy the memory files came from; 0 when the cgroup has no memory files (see <paramref name="NoMemoryReason"/>).</param>
/// <param name="UsageBytes">v1 memory.usage_in_bytes, v2 memory.current.</param>
/// <param name="LimitBytes">v1 memory.limit_in_bytes, v2 memory.max; -1 unlimited.</param>
/// <param name="LimitHits">v1 memory.failcnt, v2 memory.events max.</param>
/// <param name="HighEvents">v2 memory.events high; -1 on v1, which has no memory.high.</param>
/// <param name="OomKills">v1 memory.oom_control oom_kill (Linux 4.13+), v2 memory.events oom_kill.</param>
/// <param name="HostPsiSomeAvg10">/proc/pressure/memory "some" avg10 in percent; -1 when PSI is off.</param>
/// <param name="HostPsiSomeTotalUs">/proc/pressure/memory "some" total stall time in µs; -1 when PSI is off.</param>
/// <param name="HostAvailableRatio">/proc/meminfo MemAvailable / MemTotal; -1 unknown.</param>
/// <param name="HostReclaimScanned">/proc/vmstat pgscan_kswapd + pgscan_direct: pages scanned by the host's own reclaim; -1 unknown.</param>
/// <param name="NoMemoryReason">Why there are no memory files, when <paramref name="CgroupVersion"/> is 0.</param>
public sealed record MemoryReading(
    long Timestamp,
    int CgroupVersion,
    long UsageBytes,
    long LimitBytes,
    long LimitHits,
    long HighEvents,
    long OomKills,
    double HostPsiSomeAvg10,
    long HostPsiSomeTotalUs,
    double HostAvailableRatio,
    long HostReclaimScanned,
    string? NoMemoryReason = null) : IResourceReading;

/// <summary>
/// The memory probe: reads the cgroup's memory controller files (v1 or v2, wherever the
/// controller is bound) and the host's PSI and meminfo, and decides the memory tree
/// (<see cref="MemoryDiagnosis"/>) from the counters' deltas over the window.
/// </summary>
public sealed class MemoryProbe : IResourceProbe
{
    private readonly CgroupMounts _mounts;
    private readonly ICgroupFileSystem _fs;
    private readonly string _pressureFile;
    private readonly string _meminfoFile;
    private readonly string _vmstatFile;
    private readonly MemoryThresholds? _thresholds;

    /// <summary>Reads the live cgroup file system and the host's /proc under <see cref="ResourceProbeContext.HostRoot"/>.</summary>
    public MemoryProbe(ResourceProbeContext context, MemoryThresholds? thresholds = null)
        : this(context, RealCgroupFileSystem.Instance, thresholds)
    {
    }

    internal MemoryProbe(ResourceProbeContext context, ICgroupFileSystem fs, MemoryThresholds? thresholds = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(fs);
        _mounts = context.Mounts;
        _fs = fs;
        string root = context.HostRoot.TrimEnd('/');
        _pressureFile = root + "/proc/pressure/memory";
        _meminfoFile = root + "/proc/meminfo";
        _vmstatFile = root + "/proc/vmstat";
        _thresholds = thresholds;
        _host = new(ReadHostFigures);
    }

    /// <inheritdoc />
    public string Resource => MemoryDiagnosis.Resource;

    /// <inheritdoc />
    public IResourceReading? Read(string cgroupPath)
    {
        ArgumentNullException.ThrowIfNull(cgroupPath);
        long now = Stopwatch.GetTimestamp();
        MemoryReading? cgroup = _mounts.ForController("memory") switch
        {
            { Version: 1 } v1 => ReadV1(v1, cgroupPath, now),
            { } v2 => ReadV2(v2, cgroupPath, now),
            null => NoMemory(cgroupPath, now, "no memory controller is mounted (neither a v1 hierarchy nor in the unified one)"),
        };
        if (cgroup is null)
            return null;

        (double avg10, long totalUs, double available, long reclaim) = HostFigures(now);
        return cgroup with { HostPsiSomeAvg10 = avg10, HostPsiSomeTotalUs = totalUs, HostAvailableRatio = available, HostReclaimScanned = reclaim };
    }

    // The host-wide figures (three files), once for a burst of readings.
    private (double Avg10, long TotalUs, double Available, long Reclaim) HostFigures(long now) => _host.Get(now);

    private (double, long, double, long) ReadHostFigures()
    {
        (double avg10, long totalUs) = ReadText(_pressureFile) is { } psi ? MemoryFiles.ParsePsiSome(psi) : (-1, -1);
        double available = ReadText(_meminfoFile) is { } meminfo ? MemoryFiles.AvailableRatio(meminfo) : -1;
        long reclaim = ReadText(_vmstatFile) is { } vmstat ? MemoryFiles.HostReclaimScanned(vmstat) : -1;
        return (avg10, totalUs, available, reclaim);
    }

    private readonly BurstCache<(double, long, double, long)> _host;

    /// <inheritdoc />
    public ResourceDiagnosis Diagnose(string cgroupPath, IResourceReading? start, IResourceReading end, double seconds)
    {
        if (end is not MemoryReading now)
            throw new ArgumentException($"expected a {nameof(MemoryReading)}, got {end?.GetType().Name ?? "null"}", nameof(end));
        if (now.CgroupVersion == 0)
        {
            string reason = now.NoMemoryReason ?? "the cgroup has no memory files";
            return new ResourceDiagnosis(Resource, Outcomes.Undecidable, [], "cannot decide: " + reason, reason);
        }

        var before = start as MemoryReading;
        MemoryEvidence evidence = Evidence(before, now, seconds);
        ResourceDiagnosis d = MemoryDiagnosis.Diagnose(evidence, _thresholds) with { Evidence = evidence };
        return before is null || before.CgroupVersion == 0
            ? d with { Summary = d.Summary + " [first seen during the window: counts since the cgroup was created, host PSI as its 10 s average]" }
            : d;
    }

    /// <summary>
    /// The tree's evidence from two readings. Counters are deltas over the window; without a start
    /// (the cgroup appeared during the window) a counter counts from the cgroup's creation, and a
    /// counter that went backwards (the path was removed and made again) counts from zero. Host
    /// PSI is the share of the window some task stalled on memory, from the stall-time totals, so
    /// an episode before the window does not linger in it as it would in avg10.
    /// </summary>
    public static MemoryEvidence Evidence(MemoryReading? start, MemoryReading end, double seconds)
    {
        ArgumentNullException.ThrowIfNull(end);
        if (start is { CgroupVersion: 0 })
            start = null;
        double psi = end.HostPsiSomeAvg10;
        if (start is { HostPsiSomeTotalUs: >= 0 } && end.HostPsiSomeTotalUs >= 0)
        {
            double elapsed = end.Timestamp > start.Timestamp ? Stopwatch.GetElapsedTime(start.Timestamp, end.Timestamp).TotalSeconds : seconds;
            if (elapsed > 0)
                psi = Math.Clamp(100.0 * Delta(start.HostPsiSomeTotalUs, end.HostPsiSomeTotalUs) / (elapsed * 1e6), 0, 100);
        }

        return new MemoryEvidence
        {
            OomKills = Delta(start?.OomKills, end.OomKills),
            UsageBytes = end.UsageBytes,
            LimitBytes = end.LimitBytes,
            LimitHits = Delta(start?.LimitHits, end.LimitHits),
            HighEvents = Delta(start?.HighEvents, end.HighEvents),
            HostPsiSomePercent = psi,
            HostAvailableRatio = end.HostAvailableRatio,
            // Host reclaim needs a start: the total since boot says nothing about this window.
            HostReclaimPages = start is null || start.HostReclaimScanned < 0 || end.HostReclaimScanned < 0
                ? -1
                : Delta(start.HostReclaimScanned, end.HostReclaimScanned),
        };
    }

    private static long Delta(long? start, long end) =>
        end < 0 ? -1 : start is long s && s >= 0 && s <= end ? end - s : end;

    private MemoryReading? ReadV1(CgroupMount mount, string path, long now)
    {
        string dir = mount.PathOf(path);
        long? usage = MemoryFiles.ParseLong(ReadText(dir + "/memory.usage_in_bytes"));
        if (usage is null)
            return _fs.Inode(dir) is null ? NoMemory(path, now, "the cgroup has no directory in the v1 memory hierarchy") : null;
        // A file gone after the first was read: the cgroup was removed mid-read.
        if (MemoryFiles.ParseV1Limit(ReadText(dir + "/memory.limit_in_bytes")) is not long limit
            || MemoryFiles.ParseLong(ReadText(dir + "/memory.failcnt")) is not long failcnt
            || ReadText(dir + "/memory.oom_control") is not { } oomControl)
            return null;
        return new MemoryReading(now, 1, usage.Value, limit, failcnt, -1, MemoryFiles.KeyedValue(oomControl, "oom_kill"), -1, -1, -1, -1);
    }

    private MemoryReading? ReadV2(CgroupMount mount, string path, long now)
    {
        string dir = mount.PathOf(path);
        long? current = MemoryFiles.ParseLong(ReadText(dir + "/memory.current"));
        if (current is null)
            // The root cgroup has no memory.current, and a child has none until its parent lists
            // memory in cgroup.subtree_control.
            return _fs.Inode(dir) is not null
                ? NoMemory(path, now, "the memory controller is not enabled for this cgroup (its parent's cgroup.subtree_control)")
                : null;
        if (MemoryFiles.ParseV2Max(ReadText(dir + "/memory.max")) is not long max
            || ReadText(dir + "/memory.events") is not { } events)
            return null;
        return new MemoryReading(now, 2, current.Value, max,
            MemoryFiles.KeyedValue(events, "max"), MemoryFiles.KeyedValue(events, "high"), MemoryFiles.KeyedValue(events, "oom_kill"), -1, -1, -1, -1);
    }

    /// <summary>A cgroup the memory files do not cover, or null when it is gone from the cpu hierarchy too.</summary>
    private MemoryReading? NoMemory(string path, long now, string reason) =>
        ExistsElsewhere(path) ? new MemoryReading(now, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, reason) : null;

    private bool ExistsElsewhere(string path) =>
        (_mounts.ForController("cpu") ?? _mounts.Unified) is { } m && _fs.Inode(m.PathOf(path)) is not null;

    private string? ReadText(string path)
    {
        try
        {
            return _fs.ReadAllText(path);
        }
        catch (UnauthorizedAccessException)
        {
            // A sidecar without the privilege to read a file learns nothing from it; the tree
            // says which outcome that leaves undecidable.
            return null;
        }
    }
}
