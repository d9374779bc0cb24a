using System.Runtime.CompilerServices;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace;

/// <summary>
/// The one owner of a node's windows. It holds the engine, the per-CPU times and each container's
/// last resource readings, and cuts them together: every <see cref="Cut"/> ends the window of all
/// three at the same instant and hands out one <see cref="TraceWindow"/> that diagnosis and
/// detection read instead of the kernel's files. The CLI, the sidecar and library hosts all cut
/// windows through it, so none keeps the three clocks in step by hand.
/// </summary>
/// <remarks>
/// Per window it reads each container's CPU limits and probes (memory, disk, network) once, or
/// with <see cref="ReadingsEvery"/> n, a container's once every n windows (each container in its
/// own phase, so every window reads about 1/n of them). A container read in an earlier window
/// repeats its last measured interval: Start and End of its last two readings, whose rates the
/// probes take from the readings' own timestamps. A container that used no CPU in the window keeps
/// its last readings: its verdicts are decided on zero deltas, and whatever changed without it
/// running (the host reclaiming its pages, queued I/O completing, TCP retransmit timers) is
/// counted, at its true rate, in the next window it is read. Not thread-safe: one caller cuts.
/// </remarks>
public sealed class TraceSession : IDisposable
{
    private readonly TraceEngine _engine;
    private readonly bool _ownsEngine;
    private readonly CgroupReader _cgroups;
    private readonly IReadOnlyList<IResourceProbe> _probes;
    private readonly string _hostRoot;
    private readonly WindowScope _scope;
    private Dictionary<string, ContainerReadings> _last = new(StringComparer.Ordinal);
    private PerCpuTime _cpus;
    private long _seq;

    /// <summary>Starts an engine and a session that owns it.</summary>
    /// <param name="probes">Memory, disk and network probes; null for <see cref="ResourceProbes.Default"/>, empty for CPU only.</param>
    public static TraceSession Start(EngineOptions? options = null, IReadOnlyList<IResourceProbe>? probes = null, WindowScope scope = WindowScope.Containers)
    {
        options ??= new EngineOptions();
        TraceEngine engine = TraceEngine.Start(options);
        try
        {
            return new TraceSession(engine, options.HostRoot, probes, scope, ownsEngine: true);
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A session over a running engine, whose window starts now: the engine's pending figures are
    /// dropped, and the per-CPU times and every cgroup's readings are taken as the baseline.
    /// </summary>
    /// <param name="engine">The engine; disposed with the session only when <paramref name="ownsEngine"/>.</param>
    /// <param name="hostRoot">Where the host's / is (the engine's <see cref="EngineOptions.HostRoot"/>).</param>
    /// <param name="probes">Memory, disk and network probes; null for <see cref="ResourceProbes.Default"/>, empty for CPU only.</param>
    /// <param name="scope">Which cgroups each window reports: every container (idle ones too, no parents) or every cgroup that ran.</param>
    public TraceSession(TraceEngine engine, string hostRoot = "/", IReadOnlyList<IResourceProbe>? probes = null,
        WindowScope scope = WindowScope.Containers, bool ownsEngine = false)
    {
        ArgumentNullException.ThrowIfNull(engine);
        _engine = engine;
        _ownsEngine = ownsEngine;
        _hostRoot = hostRoot;
        _scope = scope;
        _cgroups = new CgroupReader(engine.Mounts);
        _probes = probes ?? ResourceProbes.Default(new ResourceProbeContext(engine.Mounts, hostRoot));
        engine.CollectWindow().Dispose();
        _cpus = PerCpuTime.Read(hostRoot);
        foreach (string path in engine.CgroupPaths())
            if (path != "/")
                _last[path] = Read(path, previous: null);
    }

    /// <summary>The engine the session cuts.</summary>
    public TraceEngine Engine => _engine;

    /// <summary>The probes each window's readings come from.</summary>
    public IReadOnlyList<IResourceProbe> Probes => _probes;

    /// <summary>
    /// Read each container's limits and probes every this many windows (1, the default: every
    /// window). A node of thousands of containers spends most of a window reading their cgroupfs
    /// and procfs files; the sidecar reads them on a slower cadence than it cuts windows. The
    /// engine then also scans the whole cgroup tree on this cadence: a cgroup created without
    /// running (no scheduler event, no CPU used) joins the windows within this many of them.
    /// </summary>
    public int ReadingsEvery
    {
        get => _readingsEvery;
        init
        {
            _readingsEvery = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(ReadingsEvery), value, "at least 1");
            _engine.TreeRescanEvery = value;
        }
    }

    private readonly int _readingsEvery = 1;

    /// <summary>Containers with readings kept for the next window (for tests of bounded state).</summary>
    public int Tracked => _last.Count;

    /// <summary>
    /// Between two cuts: reads the containers whose readings fall due at the next <see cref="Cut"/>
    /// and that ran in the last window, and scans the cgroup tree when the next cut would. That
    /// cut then uses these readings instead of reading the files itself, so a host that calls this
    /// between cuts (the sidecar does, with <see cref="ReadingsEvery"/> above 1) takes the cgroupfs
    /// and procfs reads off the cut's latency; the CPU they cost is the same. A reading taken ahead
    /// is a measured interval like any other: the probes take rates from the readings' own timestamps.
    /// A container that did not run in the last window is left to the cut, which skips it if it
    /// stays idle. Like <see cref="Cut"/>, not thread-safe: call it between cuts, never during one.
    /// </summary>
    /// <returns>Containers read.</returns>
    public int ReadAhead()
    {
        if (_seq == 0)
            return 0; // no window was cut yet: the next cut reads every container for its first interval
        _engine.ScanTreeAheadIfDue();
        foreach (string path in _ran)
            if (!_ahead.ContainsKey(path) && Due(path) && _last.TryGetValue(path, out ContainerReadings? before) && before.Start.Count >= before.End.Count)
                _ahead[path] = Read(path, before);
        return _ahead.Count;
    }

    // Containers that ran in the last window (ReadAhead's candidates), and what it read for the next cut.
    private readonly List<string> _ran = [];
    private readonly Dictionary<string, ContainerReadings> _ahead = new(StringComparer.Ordinal);

    /// <summary>Ends the current window and starts the next. Dispose the result.</summary>
    public TraceWindow Cut()
    {
        EngineSnapshot snapshot = _engine.CollectWindow(_scope);
        try
        {
            PerCpuTime cpus = PerCpuTime.Read(_hostRoot);
            IReadOnlyDictionary<int, double> busy = cpus.BusySince(_cpus);
            _cpus = cpus;

            _ran.Clear();
            var next = new Dictionary<string, ContainerReadings>(snapshot.Containers.Count, StringComparer.Ordinal);
            var readings = new Dictionary<string, ContainerReadings>(snapshot.Containers.Count, StringComparer.Ordinal);
            foreach (ContainerSnapshot c in snapshot.Containers)
            {
                if (c.CgroupPath == "/" || readings.ContainsKey(c.CgroupPath))
                    continue; // the host is the context, not a tenant
                _last.TryGetValue(c.CgroupPath, out ContainerReadings? before);
                _ahead.Remove(c.CgroupPath, out ContainerReadings? early);
                if (!Idle(c) && !c.Ended)
                    _ran.Add(c.CgroupPath);
                ContainerReadings now;
                if (early is not null && !c.Ended)
                {
                    // Read ahead (ReadAhead) since the last cut: a measured interval like any other.
                    now = early;
                    readings[c.CgroupPath] = now;
                }
                // A container read once only (new at the last cut) is read again at once: its first interval.
                else if (before is null || before.Start.Count < before.End.Count || c.Ended || (!Idle(c) && Due(c.CgroupPath)))
                {
                    now = Read(c.CgroupPath, before);
                    readings[c.CgroupPath] = now;
                }
                else
                {
                    now = before;
                    // Idle: nothing moved. Ran but not due: its last measured interval again.
                    readings[c.CgroupPath] = Idle(c) ? new ContainerReadings(before.Limits, before.End, before.End) : before;
                }
                if (!c.Ended)
                    next[c.CgroupPath] = now;
            }
            // A container that did not appear in this window keeps its baseline only while it lives.
            IReadOnlySet<string> live = _engine.KnownCgroupPaths();
            foreach ((string path, ContainerReadings r) in _last)
                if (!next.ContainsKey(path) && live.Contains(path))
                    next[path] = r;
            _last = next;
            _ahead.Clear(); // read ahead for containers this window no longer has
            return new TraceWindow(++_seq, DateTimeOffset.UtcNow, snapshot, busy, _probes, readings, live);
        }
        catch
        {
            snapshot.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A window every <paramref name="interval"/> until <paramref name="cancellationToken"/> ends
    /// the sequence. The caller disposes each window; a slow consumer makes the next window longer,
    /// never lost.
    /// </summary>
    public async IAsyncEnumerable<TraceWindow> WindowsAsync(TimeSpan interval, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var timer = new PeriodicTimer(interval);
        while (true)
        {
            try
            {
                if (!await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
                    yield break;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                yield break;
            }
            yield return Cut();
        }
    }

    // Nothing of the container ran: its CPU limits and resource counters are taken as unchanged.
    private static bool Idle(ContainerSnapshot c) =>
        c.CpuUsageNs == 0 && c.RunQueue.Count == 0 && c.Involuntary == 0 && !c.Ended;

    // Whether a container that ran is read this window: each path has its own phase of n windows.
    private bool Due(string path) =>
        _readingsEvery == 1 || ((ulong)_seq + 1 + (uint)StringComparer.Ordinal.GetHashCode(path)) % (ulong)_readingsEvery == 0;

    private ContainerReadings Read(string path, ContainerReadings? previous)
    {
        var end = new IResourceReading?[_probes.Count];
        for (int i = 0; i < _probes.Count; i++)
            end[i] = _probes[i].Read(path);
        return new ContainerReadings(_cgroups.ReadCpuLimits(path), previous?.End ?? [], end);
    }

    public void Dispose()
    {
        if (_ownsEngine)
            _engine.Dispose();
    }
}
