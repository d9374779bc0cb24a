using System.Diagnostics;
using AIOps.Trace.Aggregation;
using AIOps.Trace.Bpf;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Sources;

namespace AIOps.Trace;

/// <summary>
/// The engine: loads the scheduler programs, drains their ring on a reader thread into
/// per-container accumulators, and cuts windows that merge them with the cgroups' own counters.
/// </summary>
public sealed class TraceEngine : IDisposable
{
    private const int TopPreemptors = 5;

    // How soon a new cgroup's path is pinned after its first event (see CgroupPaths).
    private static readonly TimeSpan NamingPeriod = TimeSpan.FromMilliseconds(100);

    private readonly EngineOptions _options;
    private readonly ISchedSource _source;
    private readonly CgroupSampler _cgroups;
    private readonly ContainerTable _table;
    private readonly Lock _gate = new();
    private readonly IdentityResolver _identity;
    private readonly CgroupPaths _paths;
    private readonly Thread _reader;
    private readonly SnapshotPool _pool = new(maximumRetained: 1 << 16); // a node's containers, so no window allocates entries anew
    private readonly (ulong, long)[] _topScratch = new (ulong, long)[TopPreemptors];
    private volatile bool _stopping;
    private Exception? _readerFailure;
    private long _readerAllocatedBytes;

    private Dictionary<string, CgroupFigures> _baseline;
    private Dictionary<string, CgroupFigures>? _spareFigures; // the baseline before last, refilled by the next cut
    private HostCpu _hostBaseline;
    private long _windowStart;
    private long _lostBaseline;
    private long _skippedBaseline;

    private TraceEngine(EngineOptions options, ISchedSource source, ContainerTable table, CgroupSampler cgroups, IdentityResolver identity)
    {
        _options = options;
        _source = source;
        _table = table;
        _cgroups = cgroups;
        _identity = identity;
        _paths = new CgroupPaths(cgroups.Index, table, _gate, NamingPeriod);
        _baseline = cgroups.ReadAll();
        _hostBaseline = HostCpu.Read(options.HostRoot);
        _windowStart = Stopwatch.GetTimestamp();
        Kernel = source.Kernel;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "aiops-ring-reader" };
        _reader.Start();
    }

    /// <summary>Which mechanisms are in use.</summary>
    public KernelSummary Kernel { get; }

    /// <summary>The process whose threads are not traced (the engine's own), as the host numbers it.</summary>
    public int IgnoredProcessId => _options.Tracer.IgnoredProcessId ?? Environment.ProcessId;

    /// <summary>Why <see cref="IgnoredProcessId"/> may not be the host's number for this process (see <see cref="HostPid"/>); null when it is.</summary>
    public string? SelfFilterWarning { get; private init; }

    /// <summary>The cgroup mounts the engine resolves ids against.</summary>
    public CgroupMounts Mounts { get; private init; } = null!;

    /// <summary>Bytes the reader thread has allocated since it started (a steady state adds none).</summary>
    public long ReaderThreadAllocatedBytes => Interlocked.Read(ref _readerAllocatedBytes);

    /// <summary>Whether the engine holds an accumulator for the cgroup (for tests of its housekeeping).</summary>
    internal bool Tracks(ulong cgroupId)
    {
        lock (_gate)
            return _table.TryGet(cgroupId, out _);
    }

    /// <summary>Accumulators, indexed cgroups, pinned paths, baseline figures, cached identities: for tests of bounded state under churn.</summary>
    internal (int Tracked, int Indexed, int Pinned, int Baseline, int Identities) StateSizes
    {
        get
        {
            lock (_gate)
                return (_table.Count, _cgroups.Index.Count, _paths.Count, _baseline.Count, _identity.CachedPaths);
        }
    }

    /// <summary>
    /// Windows per scan of the whole cgroup tree (1, the default: every window). Between scans a
    /// cgroup with scheduler events is indexed on its first event and a removed one drops out when
    /// its counter files fail; one created without running is seen at the next scan.
    /// </summary>
    internal int TreeRescanEvery
    {
        get => _cgroups.RescanEvery;
        set => _cgroups.RescanEvery = value;
    }

    /// <summary>Scans the cgroup tree now, between two cuts, when the next cut would scan it (<see cref="TraceSession.ReadAhead"/>).</summary>
    internal void ScanTreeAheadIfDue() => _cgroups.ScanAheadIfDue();

    /// <summary>The cut's sampler of cgroup counters (for tests of the per-window work).</summary>
    internal CgroupSampler Sampler => _cgroups;

    /// <summary>Every cgroup path in the cpu hierarchy as last scanned (a baseline for the resource probes).</summary>
    public IReadOnlyList<string> CgroupPaths()
    {
        _cgroups.Index.Refresh();
        return _cgroups.Index.Entries.Values.ToArray();
    }

    /// <summary>Every cgroup path of the cpu hierarchy as the last window's scan found it (no rescan).</summary>
    public IReadOnlySet<string> KnownCgroupPaths()
    {
        // Made again only after a scan replaced the index's entries; never changed once handed out.
        IReadOnlyDictionary<ulong, string> entries = _cgroups.Index.Entries;
        KnownPaths? known = _known;
        if (known is null || !ReferenceEquals(known.Of, entries))
            _known = known = new KnownPaths(entries, new HashSet<string>(entries.Values, StringComparer.Ordinal));
        return known.Paths;
    }

    private sealed record KnownPaths(IReadOnlyDictionary<ulong, string> Of, HashSet<string> Paths);

    private volatile KnownPaths? _known;

    // The parents of the last cut's cgroups, and what they were made from: the set changes only
    // when a scan adds cgroups (new entries) or a cgroup is found gone (fewer figures).
    private (IReadOnlyDictionary<ulong, string>? Of, int Count, HashSet<string> Parents) _parents = (null, 0, []);

    private HashSet<string> ParentsOf(Dictionary<string, CgroupFigures> figures)
    {
        IReadOnlyDictionary<ulong, string> entries = _cgroups.Index.Entries;
        if (!ReferenceEquals(_parents.Of, entries) || _parents.Count != figures.Count)
            _parents = (entries, figures.Count, ParentsOf(figures.Keys));
        return _parents.Parents;
    }

    /// <summary>The resolver naming cgroups from their path and the node's disk.</summary>
    public IdentityResolver Identity => _identity;

    /// <summary>The loaded programs; null in procfs mode. For tests that read their maps.</summary>
    internal SchedTracer? Tracer => (_source as BpfSource)?.Tracer;

    /// <summary>Programs attached (0 in procfs mode).</summary>
    public int AttachedPrograms => _source.AttachedPrograms;

    /// <summary>Loads and attaches the kernel side and starts reading. Throws <see cref="BpfException"/> when the kernel refuses.</summary>
    public static TraceEngine Start(EngineOptions? options = null)
    {
        options ??= new EngineOptions();
        options.Validate();
        string? selfFilterWarning = null;
        // The programs see host pids: inside a PID namespace our own number is another process's.
        if (options.Tracer.IgnoredProcessId is null)
            options = options with { Tracer = options.Tracer with { IgnoredProcessId = HostPid.Of(options.HostRoot, out selfFilterWarning) } };
        CgroupMounts mounts = CgroupMounts.Discover(options.HostRoot);
        CgroupMount cpu = mounts.ForController("cpu") ?? mounts.Unified
            ?? throw new InvalidOperationException("no cgroup hierarchy with the cpu controller is mounted (looked in /proc/self/mountinfo)");
        var sampler = new CgroupSampler(mounts, new CgroupIndex(cpu.MountPoint));
        if (options.Cgroups is { } wanted)
            foreach (string path in wanted)
                if (sampler.Index.IdOf(path) is null)
                    throw new ArgumentException($"cgroup '{path}' does not exist under {cpu.MountPoint}", nameof(options));
        var table = new ContainerTable();
        ISchedSource source = SourceFactory.Create(options, table, sampler);
        return new TraceEngine(options, source, table, sampler, new IdentityResolver(options.HostRoot))
        {
            Mounts = mounts,
            SelfFilterWarning = selfFilterWarning,
        };
    }

    private void ReadLoop()
    {
        int timeoutMs = (int)_options.PollInterval.TotalMilliseconds;
        try
        {
            while (!_stopping)
            {
                _source.Pump(timeoutMs, _gate);
                Volatile.Write(ref _readerAllocatedBytes, GC.GetAllocatedBytesForCurrentThread());
            }
        }
        catch (Exception e) when (!_stopping)
        {
            _readerFailure = e;
        }
    }

    /// <summary>
    /// Ends the current window and starts the next: everything measured since the previous call
    /// (or since start), for every cgroup that ran. Dispose the result to recycle it.
    /// </summary>
    public EngineSnapshot CollectWindow() => CollectWindow(WindowScope.Ran);

    /// <summary>
    /// Ends the current window and starts the next, reporting the cgroups <paramref name="scope"/> names.
    /// Dispose the result to recycle it.
    /// </summary>
    public EngineSnapshot CollectWindow(WindowScope scope)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_readerFailure is { } failure)
            throw new InvalidOperationException("the ring reader stopped: " + failure.Message, failure);

        _paths.NameNew();
        var fresh = new List<ContainerSnapshot>(_table.Count);
        var idle = new List<ulong>();
        long lost, skipped;
        (long, long) unreadable;
        KernelStats counters;
        lock (_gate)
        {
            _source.CatchUp();
            counters = _source.Counters;
            lost = _source.Lost;
            skipped = _source.Skipped;
            unreadable = _source.Unreadable;
            foreach (ContainerAccumulator acc in _table.All)
            {
                if (acc.IsEmpty)
                {
                    idle.Add(acc.CgroupId);
                    continue;
                }
                ContainerSnapshot c = _pool.Get();
                Fill(c, acc);
                fresh.Add(c);
                acc.Reset();
            }
        }

        long now = Stopwatch.GetTimestamp();
        HostCpu host = HostCpu.Read(_options.HostRoot);
        Dictionary<string, CgroupFigures> figures = _cgroups.ReadAll(_baseline, fresh, _spareFigures);
        var snapshot = new EngineSnapshot(_pool.Return)
        {
            Kernel = Kernel,
            Host = new HostSummary(Environment.ProcessorCount, HostCpu.IdleRatio(_hostBaseline, host)),
            WindowSeconds = Stopwatch.GetElapsedTime(_windowStart, now).TotalSeconds,
            LostEvents = lost - _lostBaseline,
            SkippedEvents = skipped - _skippedBaseline,
            Unreadable = unreadable,
            KernelCounters = counters,
        };

        var byPath = new Dictionary<string, ContainerSnapshot>(StringComparer.Ordinal);
        foreach (ContainerSnapshot c in fresh)
        {
            c.CgroupPath = Resolve(c.CgroupId);
            for (int i = 0; i < c.TopPreemptors.Count; i++)
                c.TopPreemptors[i] = c.TopPreemptors[i] with { CgroupPath = Resolve(c.TopPreemptors[i].CgroupId) };
            byPath[c.CgroupPath] = c;
        }

        // Cgroups that used CPU without a single scheduler event (a lone task never switched
        // out) still ran: the kernel's own usage counter says so. With every container asked
        // for, the idle ones are reported too.
        bool everyContainer = scope == WindowScope.Containers;
        IEnumerable<string> paths = _options.Cgroups ?? (IEnumerable<string>)figures.Keys;
        foreach (string path in paths)
        {
            string key = Normalize(path);
            if (byPath.ContainsKey(key))
                continue;
            if (_options.Cgroups is null && !everyContainer && !(figures.TryGetValue(key, out CgroupFigures f) && UsageDelta(key, f) > 0))
                continue;
            ContainerSnapshot c = _pool.Get();
            c.CgroupPath = key;
            // The id the figures were read under: a second stat could race the cgroup's removal.
            c.CgroupId = figures.TryGetValue(key, out CgroupFigures known) ? known.Id : _cgroups.Index.IdOf(key) ?? 0;
            byPath[key] = c;
        }

        HashSet<string>? parents = everyContainer ? ParentsOf(figures) : null;
        HashSet<string>? wanted = _options.Cgroups?.Select(Normalize).ToHashSet(StringComparer.Ordinal);
        foreach ((string path, ContainerSnapshot c) in byPath)
        {
            if (wanted is not null && !wanted.Contains(path))
            {
                _pool.Return(c);
                continue;
            }
            // A cgroup removed during the window took its counters with it (usage unknown, -1);
            // a path created again is another cgroup, whose counters restarted from zero.
            if (!figures.TryGetValue(path, out CgroupFigures end) || (c.CgroupId != 0 && end.Id != c.CgroupId))
            {
                end = new CgroupFigures(null, -1, c.CgroupId);
                c.Ended = true;
            }
            CgroupFigures start = SameCgroup(_baseline, path, end.Id);
            c.CpuUsageNs = end.UsageNs < 0 ? -1 : end.UsageNs - Math.Max(0, start.UsageNs);
            c.Throttling = Throttling(start, end, c.Throttling);
            // A cgroup gone before it was named has no path to look up or cache.
            ContainerIdentity id = path.StartsWith(GonePrefix, StringComparison.Ordinal) ? ContainerNaming.FromPath(path) : _identity.Resolve(path);
            // A parent of cgroups (a pod, a slice) holds containers but is none itself, unless a
            // runtime says it is one; the root is the host.
            if (parents is not null && wanted is null && (path == "/" || (parents.Contains(path) && id.ContainerId is null)))
            {
                snapshot.ParentsLeftOut++;
                _pool.Return(c);
                continue;
            }
            c.Identity = id;
            c.Name = id.KubernetesName ?? id.Name;
            c.Runtime = id.Runtime;
            snapshot.Containers.Add(c);
        }
        snapshot.Containers.Sort((a, b) => string.CompareOrdinal(a.CgroupPath, b.CgroupPath));

        ForgetRemovedCgroups(idle);
        _spareFigures = _baseline;
        _baseline = figures;
        _hostBaseline = host;
        _windowStart = now;
        _lostBaseline = lost;
        _skippedBaseline = skipped;
        return snapshot;
    }

    /// <summary>Every path that has a child in the tree: the parents of cgroups, the root included.</summary>
    private static HashSet<string> ParentsOf(IEnumerable<string> paths)
    {
        var parents = new HashSet<string>(StringComparer.Ordinal);
        foreach (string path in paths)
        {
            int slash = path.LastIndexOf('/');
            if (path.Length > 1 && slash >= 0)
                parents.Add(slash == 0 ? "/" : path[..slash]);
        }
        return parents;
    }

    /// <summary>Drops accumulators of cgroups that had no event this window and no longer exist.</summary>
    private void ForgetRemovedCgroups(List<ulong> idle)
    {
        foreach (ulong id in idle)
        {
            if (_cgroups.Index.Entries.ContainsKey(id))
                continue;
            bool removed;
            lock (_gate)
                removed = _table.TryGet(id, out ContainerAccumulator acc) && acc.IsEmpty && _table.Remove(id);
            if (removed && _paths.PathOf(id) is { } path)
                _identity.Forget(path);
            if (removed)
                _paths.Forget(id);
        }
    }

    // The figures under path at the previous cut, if they were the same cgroup's; else zero.
    private static CgroupFigures SameCgroup(Dictionary<string, CgroupFigures> baseline, string path, ulong id) =>
        baseline.TryGetValue(path, out CgroupFigures f) && f.Id == id ? f : default;

    private long UsageDelta(string path, CgroupFigures end) =>
        end.UsageNs - Math.Max(0, SameCgroup(_baseline, path, end.Id).UsageNs);

    private static ThrottlingFigures Throttling(CgroupFigures start, CgroupFigures end, ThrottlingFigures ebpf)
    {
        if (end.Stat is not CpuStat e)
            return ebpf with { ThrottledNs = ebpf.EbpfThrottledNs, Source = ebpf.Events > 0 ? "ebpf" : "none" };
        // A cgroup created during the window started from zero.
        CpuStat d = e - (start.Stat ?? default);
        return ebpf with { Periods = d.Periods, ThrottledPeriods = d.ThrottledPeriods, ThrottledNs = d.ThrottledNs, Source = "cgroupfs" };
    }

    private void Fill(ContainerSnapshot c, ContainerAccumulator acc)
    {
        c.CgroupId = acc.CgroupId;
        c.RunQueue.CopyFrom(acc.RunQueue);
        // The quantiles every reader of the window asks for, while the buckets are in the cache:
        // later asks are answered from the histogram's memo (at thousands of containers a cold
        // walk per reader was a cache miss per bucket line).
        c.RunQueue.ValueAtQuantile(0.5);
        c.RunQueue.ValueAtQuantile(0.99);
        c.PreemptedBySame = acc.PreemptedBySame;
        c.PreemptedByOther = acc.PreemptedByOther;
        c.PreemptedByHost = acc.PreemptedByHost;
        c.PreemptedByUnknown = acc.PreemptedByUnknown;
        int n = acc.Preemptors.CopyTop(_topScratch);
        for (int i = 0; i < n; i++)
            c.TopPreemptors.Add(new Preemptor("", _topScratch[i].Item1, _topScratch[i].Item2));
        c.Throttling = new ThrottlingFigures(0, 0, 0, acc.ThrottleEvents, (long)acc.ThrottledNs, "");
    }

    // A pinned path first: the cgroup may be gone from the tree by the time the window is cut.
    private string Resolve(ulong id) =>
        _paths.PathOf(id) ?? (_cgroups.Index.TryResolve(id, out string? path) ? path : $"{GonePrefix}{id}>");

    private const string GonePrefix = "<gone:";

    private int _disposed;

    private static string Normalize(string path) => "/" + path.Trim('/');

    /// <summary>Stops the reader and detaches the programs; a second call does nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _stopping = true;
        _reader.Join();
        _paths.Dispose();
        _source.Dispose();
        _cgroups.Dispose();
    }
}
