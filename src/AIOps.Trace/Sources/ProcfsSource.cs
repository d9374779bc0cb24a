using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using AIOps.Trace.Aggregation;
using AIOps.Trace.Bpf;
using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Sources;

/// <summary>
/// The no-BPF source: samples every task's scheduler counters from procfs and folds their
/// deltas into the per-cgroup accumulators, so the engine builds the same snapshot as with eBPF,
/// at lower resolution.
/// <list type="bullet">
/// <item>Run-queue waits: Δtimeslices waits summing to Δrun_delay per task and interval
/// (/proc/&lt;pid&gt;/task/&lt;tid&gt;/schedstat). Single waits are not visible, so each interval's
/// mean wait is recorded Δtimeslices times: percentiles are of per-task-interval means, not of
/// single waits; count and sum are exact.</item>
/// <item>Involuntary preemptions: Δnonvoluntary_ctxt_switches, with no preemptor ("unattributed").</item>
/// <item>Throttling and CPU usage: cpu.stat and cpuacct, read by the engine as in eBPF mode.</item>
/// </list>
/// Walks run every poll interval (at least 100 ms, stretched on big hosts, see
/// <see cref="DutyCycleFactor"/>) and at every window cut. Not seen: what a task did between its
/// last walk and its exit. A task counts to the cgroup its process is in at the walk, and the
/// /proc/&lt;pid&gt;/cgroup paths must be those of the engine's hierarchy root (a host-level view,
/// not a container's cgroup namespace).
/// </summary>
internal sealed class ProcfsSource : ISchedSource
{
    /// <summary>Walking /proc costs tens of ms per thousand tasks: never more often than this.</summary>
    internal static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The periodic walk is stretched to this many times its own duration, so the sampler stays
    /// under about 5% of one CPU on hosts with many tasks (opening a procfs file costs 10-20 us
    /// of kernel time, measured on a 2 vCPU KVM guest). Window cuts still sample at once.
    /// </summary>
    private const int DutyCycleFactor = 20;

    private static readonly TimeSpan MaxInterval = TimeSpan.FromSeconds(30);

    private readonly string _proc;
    private readonly ContainerTable _table;
    private readonly CgroupIndex _index;
    private readonly int _ignoredPid;
    private readonly TimeSpan _interval;
    private readonly long _engineStartTicks;
    private readonly ProcfsReader _reader = new();
    private readonly Dictionary<int, TaskCounters> _tasks = new(4096);
    private readonly Dictionary<string, CgroupEntry> _cgroupIds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CgroupEntry>.AlternateLookup<ReadOnlySpan<char>> _cgroupIdsBySpan;
    private readonly List<int> _pids = new(1024), _tids = new(64);
    private char[] _pathChars = new char[256];
    private int _generation;
    private long _lastSample;
    private TimeSpan _effectiveInterval;

    public ProcfsSource(EngineOptions options, ContainerTable table, CgroupIndex index, string why)
    {
        _proc = options.HostRoot.Trim('/').Length == 0 ? "/proc" : options.HostRoot.TrimEnd('/') + "/proc";
        _table = table;
        _index = index;
        _ignoredPid = options.Tracer.IgnoredProcessId ?? HostPid.Of(options.HostRoot, out _);
        _interval = options.PollInterval < MinInterval ? MinInterval : options.PollInterval;
        _effectiveInterval = _interval;
        _cgroupIdsBySpan = _cgroupIds.GetAlternateLookup<ReadOnlySpan<char>>();
        _engineStartTicks = _reader.TryRead(_proc + "/uptime", out ReadOnlySpan<byte> uptime)
            && ProcfsText.TryParseUptimeTicks(uptime, out long ticks) ? ticks : long.MaxValue;
        Kernel = new KernelSummary(KernelInfo.Release, KernelInfo.HasVmlinuxBtf, "none", "procfs", "cgroupfs",
            $"{why}; sampling {_proc} every {_interval.TotalMilliseconds:0} ms or more, at lower resolution than eBPF: run-queue percentiles are of per-task means over each interval, preemptors are unknown")
        {
            Mode = TierMode.Procfs,
        };
        // The first walk is everyone's baseline: only what happens from now on counts.
        Sample();
    }

    public KernelSummary Kernel { get; }

    public int AttachedPrograms => 0;

    public KernelStats Counters => default;

    public long Lost => 0;

    public long Skipped => 0;

    public (long Records, long Bytes) Unreadable => (0, 0);

    /// <summary>
    /// Waits for the rest of the interval since the last sample (by this or by a window cut),
    /// then samples. Sleeps at most the poll interval (and at least 100 ms), so the engine's
    /// reader loop still sees a stop request promptly when a slow walk stretched the interval.
    /// </summary>
    public void Pump(int timeoutMs, Lock gate)
    {
        TimeSpan interval = _effectiveInterval;
        TimeSpan left = interval - Stopwatch.GetElapsedTime(Volatile.Read(ref _lastSample));
        TimeSpan longest = TimeSpan.FromMilliseconds(Math.Max(timeoutMs, MinInterval.TotalMilliseconds));
        if (left > TimeSpan.Zero)
            Thread.Sleep(left < longest ? left : longest);
        lock (gate)
            if (Stopwatch.GetElapsedTime(_lastSample) >= interval)
                Sample();
    }

    /// <summary>A window cut always samples, so the window ends exactly now.</summary>
    public void CatchUp() => Sample();

    /// <summary>One walk over every task. Runs under the engine's gate, so a window never sees half a walk.</summary>
    private void Sample()
    {
        long started = Stopwatch.GetTimestamp();
        bool first = _generation == 0;
        int generation = ++_generation;
        if (ProcfsReader.TryListIds(_proc, _pids))
        {
            foreach (int pid in _pids)
            {
                if (pid == _ignoredPid)
                    continue;
                // A process that exits between the listing and here simply has no files left.
                if (!ProcfsReader.TryListIds($"{_proc}/{pid}/task", _tids))
                    continue;
                // Most tasks of a host sleep through an interval: the cgroup is read only for a
                // process that has something to fold.
                ulong? cgroupId = null;
                foreach (int tid in _tids)
                {
                    if (!TryTaskDelta(pid, tid, generation, first, out long slices, out long delay, out long preempted))
                        continue;
                    cgroupId ??= CgroupOfProcess(pid, generation);
                    if (cgroupId == 0)
                        continue;
                    ContainerAccumulator acc = _table.Get(cgroupId.Value);
                    if (slices > 0)
                        acc.RunQueue.Record((ulong)Math.Max(0, delay) / (ulong)slices, slices);
                    acc.PreemptedByUnknown += preempted;
                }
            }
        }
        Forget(generation);
        TimeSpan took = Stopwatch.GetElapsedTime(started);
        _effectiveInterval = TimeSpan.FromTicks(Math.Clamp(took.Ticks * DutyCycleFactor, _interval.Ticks, Math.Max(_interval.Ticks, MaxInterval.Ticks)));
        Volatile.Write(ref _lastSample, Stopwatch.GetTimestamp());
    }

    /// <summary>
    /// Reads one task and advances its baseline; true when it has timeslices or preemptions to
    /// fold. False for a task that vanished mid-read (its baseline is then forgotten).
    /// </summary>
    private bool TryTaskDelta(int pid, int tid, int generation, bool first, out long slices, out long delay, out long preempted)
    {
        slices = delay = preempted = 0;
        string dir = $"{_proc}/{pid}/task/{tid}/";
        if (!_reader.TryRead(dir + "schedstat", out ReadOnlySpan<byte> text) || !ProcfsText.TryParseSchedStat(text, out SchedStat now))
            return false;
        ref TaskCounters prev = ref CollectionsMarshal.GetValueRefOrAddDefault(_tasks, tid, out bool known);
        // A task that neither ran nor reached a CPU cannot have been preempted either: being
        // switched out adds the time it ran to sum_exec_runtime (update_curr). Its status, the
        // costliest file (the kernel formats ~50 fields), is skipped.
        if (known && now.RunNs == prev.RunNs && now.Timeslices == prev.Timeslices)
        {
            prev = prev with { Generation = generation };
            return false;
        }
        if (!_reader.TryRead(dir + "status", out text) || !ProcfsText.TryParseNonvoluntarySwitches(text, out long nivcsw))
        {
            // Gone between the two reads: forget it now, as the next walk would.
            _tasks.Remove(tid);
            return false;
        }
        // Counters that went backwards belong to another task that reused the tid.
        if (!known || now.Timeslices < prev.Timeslices || now.RunDelayNs < prev.RunDelayNs || nivcsw < prev.Nonvoluntary)
        {
            // A task born after the engine started counts from zero, so waits and preemptions
            // of tasks that live less than one interval are not lost; older ones start here.
            prev = !first && StartedAfterEngine(dir)
                ? default
                : new TaskCounters(now.RunNs, now.Timeslices, now.RunDelayNs, nivcsw, 0);
        }

        slices = now.Timeslices - prev.Timeslices;
        preempted = nivcsw - prev.Nonvoluntary;
        delay = now.RunDelayNs - prev.RunDelayNs;
        // run_delay and pcount advance together when a task reaches a CPU (sched_info_arrive in
        // kernel/sched/stats.h); should delay ever arrive without a slice, it waits for the next one.
        long delayBase = slices > 0 ? now.RunDelayNs : prev.RunDelayNs;
        prev = new TaskCounters(now.RunNs, now.Timeslices, delayBase, nivcsw, generation);
        return slices > 0 || preempted > 0;
    }

    /// <summary>The id of the process's cpu-controller cgroup; 0 when the process or its cgroup is gone.</summary>
    private ulong CgroupOfProcess(int pid, int generation) =>
        _reader.TryRead($"{_proc}/{pid}/cgroup", out ReadOnlySpan<byte> file) && ProcfsText.TryFindCpuCgroup(file, out ReadOnlySpan<byte> path)
            ? CgroupIdOf(path, generation)
            : 0;

    private bool StartedAfterEngine(string taskDir) =>
        _reader.TryRead(taskDir + "stat", out ReadOnlySpan<byte> stat)
        && ProcfsText.TryParseStartTime(stat, out long start)
        && start >= _engineStartTicks;

    /// <summary>The cgroup id (its directory's inode) for a path from /proc/&lt;pid&gt;/cgroup; 0 when it cannot be resolved.</summary>
    private ulong CgroupIdOf(ReadOnlySpan<byte> path, int generation)
    {
        int max = Encoding.UTF8.GetMaxCharCount(path.Length);
        if (_pathChars.Length < max)
            _pathChars = new char[max];
        int n = Encoding.UTF8.GetChars(path, _pathChars);
        ReadOnlySpan<char> chars = _pathChars.AsSpan(0, n);
        if (_cgroupIdsBySpan.TryGetValue(chars, out CgroupEntry? entry))
        {
            entry.Generation = generation;
            return entry.Id;
        }
        // A cgroup removed since the process was listed has no directory: not cached, tried again next walk.
        string key = chars.ToString();
        if (_index.IdOf(key) is not ulong id)
            return 0;
        _cgroupIds[key] = new CgroupEntry(id) { Generation = generation };
        return id;
    }

    /// <summary>Drops tasks that exited and cgroups no task is in, so the maps follow the host.</summary>
    private void Forget(int generation)
    {
        foreach ((int tid, TaskCounters c) in _tasks)
            if (c.Generation != generation)
                _tasks.Remove(tid);
        // A path no task uses now may be a removed cgroup; a new one at the same path has a new id.
        foreach ((string path, CgroupEntry e) in _cgroupIds)
            if (e.Generation != generation)
                _cgroupIds.Remove(path);
    }

    public void Dispose()
    {
    }

    private readonly record struct TaskCounters(long RunNs, long Timeslices, long RunDelayNs, long Nonvoluntary, int Generation);

    private sealed class CgroupEntry(ulong id)
    {
        public ulong Id { get; } = id;
        public int Generation { get; set; }
    }
}
