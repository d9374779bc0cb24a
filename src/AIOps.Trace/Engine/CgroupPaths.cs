using System.Diagnostics;
using AIOps.Trace.Aggregation;
using AIOps.Trace.Cgroups;

namespace AIOps.Trace;

/// <summary>
/// Pins the path of every cgroup the engine holds an accumulator for, within a tick of its
/// first event. A window is cut once a second or less often, and a short-lived container can
/// be created, run and removed in between: by the time the window ends its directory is gone
/// and only the id is left. Pinned here, it is reported one last time under its own path.
/// A pin is dropped together with the cgroup's accumulator, so the table stays as small as the
/// set of cgroups that ran recently.
/// </summary>
internal sealed class CgroupPaths : IDisposable
{
    private readonly CgroupIndex _index;
    private readonly ContainerTable _table;
    private readonly Lock _gate;
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, Pin> _byId = new();
    private readonly List<ulong> _ids = new();
    private readonly HashSet<ulong> _present = new();
    private readonly List<ulong> _orphans = new();
    private readonly TimeSpan _period;
    private readonly ManualResetEventSlim _stop = new();
    private readonly Thread _thread;
    private int _naming;

    /// <param name="gate">The lock the reader thread holds while it writes <paramref name="table"/>.</param>
    public CgroupPaths(CgroupIndex index, ContainerTable table, Lock gate, TimeSpan period)
    {
        _index = index;
        _table = table;
        _gate = gate;
        _period = period;
        // A thread of its own, not a pool timer: a starved thread pool (the host application's
        // or a test run's) would delay naming past the life of a short container.
        _thread = new Thread(Run) { IsBackground = true, Name = "aiops-cgroup-namer" };
        _thread.Start();
    }

    /// <summary>Cgroups with a pin (named, or known to be gone before they could be named).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
                return _byId.Count;
        }
    }

    /// <summary>The pinned path of <paramref name="id"/>, or null when it has none (yet, or ever).</summary>
    public string? PathOf(ulong id)
    {
        lock (_lock)
            return _byId.TryGetValue(id, out Pin pin) ? pin.Path : null;
    }

    /// <summary>Drops the pin of a cgroup whose accumulator was forgotten.</summary>
    public void Forget(ulong id)
    {
        lock (_lock)
            _byId.Remove(id);
    }

    private void Run()
    {
        while (!_stop.Wait(_period))
            NameNew();
    }

    /// <summary>Names the cgroups that got an accumulator since the last call. Runs every period and before each window cut.</summary>
    public void NameNew()
    {
        // The timer and a window cut may both get here; one pass at a time is enough.
        if (Interlocked.Exchange(ref _naming, 1) == 1)
            return;
        try
        {
            _ids.Clear();
            lock (_gate)
                foreach (ContainerAccumulator acc in _table.All)
                    _ids.Add(acc.CgroupId);
            // Stamped after the table was read: every cgroup in it existed before this moment,
            // so a scan that begins later and misses one proves it was removed.
            long now = Stopwatch.GetTimestamp();
            DropOrphans();

            foreach (ulong id in _ids)
            {
                Pin pin;
                lock (_lock)
                {
                    if (!_byId.TryGetValue(id, out pin))
                        _byId[id] = pin = new Pin(null, now, Done: false);
                }
                if (pin.Done)
                    continue;

                // TryResolve rescans the tree on a miss, at most every 250 ms. Once a scan that
                // began after the first sighting has missed the id, the cgroup was removed before
                // it could be named; stop asking, or every tick would rescan for it.
                if (_index.TryResolve(id, out string? path))
                    pin = pin with { Path = path, Done = true };
                else if (_index.LastScan > pin.FirstSeen)
                    pin = pin with { Done = true };
                else
                    continue;
                lock (_lock)
                    if (_byId.ContainsKey(id))
                        _byId[id] = pin;
            }
        }
        finally
        {
            Volatile.Write(ref _naming, 0);
        }
    }

    // A pin made just as the engine forgot the cgroup's accumulator would otherwise outlive it.
    private void DropOrphans()
    {
        _present.Clear();
        _present.UnionWith(_ids);
        _orphans.Clear();
        lock (_lock)
        {
            foreach (ulong id in _byId.Keys)
                if (!_present.Contains(id))
                    _orphans.Add(id);
            foreach (ulong id in _orphans)
                _byId.Remove(id);
        }
    }

    public void Dispose()
    {
        // Waits for a running pass, so none touches the table after the engine is gone.
        _stop.Set();
        _thread.Join();
        _stop.Dispose();
    }

    private readonly record struct Pin(string? Path, long FirstSeen, bool Done);
}
