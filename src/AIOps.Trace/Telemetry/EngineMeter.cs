using System.Diagnostics.Metrics;

namespace AIOps.Trace.Telemetry;

/// <summary>
/// The engine's per-container figures as a <see cref="System.Diagnostics.Metrics.Meter"/> named
/// <c>AIOps.Trace</c>, for an OpenTelemetry SDK (OTLP), prometheus-net's meter adapter or a
/// <see cref="MeterListener"/>. Every instrument is observable and reads what
/// <see cref="Record"/> kept of the last window: the cost is one pass over the containers per
/// window, never anything per event. Counters are totals since the container was first seen
/// (an ended cgroup is reported with its window, then dropped); the run-queue quantiles are the
/// last window's. Tags: <c>cgroup.path</c>, <c>container.name</c>, <c>k8s.pod.name</c>,
/// <c>k8s.namespace.name</c> (empty when unknown), fixed at first sight so a series never splits.
/// </summary>
/// <remarks><see cref="Record"/> is called by one thread (the loop that cuts windows); the
/// instruments may be observed from any thread at the same time.</remarks>
public sealed class EngineMeter : IDisposable
{
    /// <summary>The meter's name, for <c>AddMeter("AIOps.Trace")</c> or a listener.</summary>
    public const string MeterName = "AIOps.Trace";

    /// <summary>Values of the <c>quantile</c> tag of the run-queue latency gauge: p50, p99 and the maximum.</summary>
    public static readonly double[] Quantiles = [0.5, 0.99, 1.0];

    /// <summary>Values of the <c>preemptor</c> tag: who took the CPU.</summary>
    public static readonly string[] Preemptors = ["same", "other", "host", "unknown"];

    /// <summary>Values of the <c>reason</c> tag of the kernel drop counter, the <see cref="Bpf.KernelStats"/> fields they come from.</summary>
    public static readonly string[] DropReasons = ["lost_samples", "lost_throttles", "stamp_map_full"];

    private readonly bool _ownsMeter;
    private readonly Dictionary<string, Tracked> _byCgroup = new(StringComparer.Ordinal);
    private static readonly HashSet<string> NoneEnded = [];
    private HashSet<string> _ended = NoneEnded;
    private volatile Published _last = Published.Empty;

    /// <param name="factory">The host's meter factory (dependency injection); null creates a meter of its own.</param>
    public EngineMeter(IMeterFactory? factory = null)
    {
        Meter = factory?.Create(new MeterOptions(MeterName)) ?? new Meter(MeterName);
        _ownsMeter = factory is null;
        Meter.CreateObservableGauge("aiops.trace.container.runqueue.latency", ObserveLatency, "s",
            "Run-queue latency of the container's tasks over the last window, by quantile (1 is the maximum); absent when it had no wait in that window.");
        Meter.CreateObservableCounter("aiops.trace.container.runqueue.waits", () => Each(c => c.Waits), "{wait}",
            "Run-queue waits of the container's tasks.");
        Meter.CreateObservableCounter("aiops.trace.container.runqueue.wait_time", () => Each(c => c.WaitNs / 1e9), "s",
            "Time the container's tasks waited on a run queue.");
        Meter.CreateObservableCounter("aiops.trace.container.preemptions", ObservePreemptions, "{preemption}",
            "Involuntary preemptions of the container's tasks, by who took the CPU (preemptor: same, other, host, unknown).");
        Meter.CreateObservableCounter("aiops.trace.container.cpu.periods", () => Each(c => c.Periods), "{period}",
            "CFS bandwidth enforcement periods elapsed (cpu.stat nr_periods).");
        Meter.CreateObservableCounter("aiops.trace.container.cpu.throttled_periods", () => Each(c => c.ThrottledPeriods), "{period}",
            "CFS bandwidth periods in which the container was throttled (cpu.stat nr_throttled).");
        Meter.CreateObservableCounter("aiops.trace.container.cpu.throttled_time", () => Each(c => c.ThrottledNs / 1e9), "s",
            "Time the container was throttled by its CFS quota (cpu.stat throttled time).");
        Meter.CreateObservableCounter("aiops.trace.container.cpu.usage", ObserveCpu, "s",
            "CPU time the container used (cpuacct.usage or cpu.stat usage_usec); absent when its counters are unknown.");
        Meter.CreateObservableCounter("aiops.trace.lost_events", () => _last.LostEvents, "{event}",
            "Events the kernel could not deliver (ring full) or the reader could not parse.");
        Meter.CreateObservableCounter("aiops.trace.kernel.dropped", ObserveKernelDrops, "{event}",
            "Events the BPF programs dropped, by reason, since they were loaded (0 in procfs mode).");
        Meter.CreateObservableCounter("aiops.trace.windows", () => _last.Windows, "{window}", "Windows recorded.");
    }

    /// <summary>The meter the instruments belong to.</summary>
    public Meter Meter { get; }

    /// <summary>
    /// Folds one window in: adds its figures to each container's totals and publishes the totals and
    /// the window's quantiles to the instruments. Containers that ended are reported this once, then dropped.
    /// </summary>
    public void Record(EngineSnapshot window)
    {
        ArgumentNullException.ThrowIfNull(window);
        foreach (string gone in _byCgroup.Where(e => e.Value.Ended).Select(e => e.Key).ToList())
            _byCgroup.Remove(gone);
        foreach (Tracked t in _byCgroup.Values)
            t.Ran = false;

        // An engine that watches named cgroups reports a removed one as ended in every window
        // after: it was reported once, so later reports are skipped while they last.
        HashSet<string>? ended = null;
        foreach (ContainerSnapshot c in window.Containers)
        {
            if (c.Ended)
            {
                (ended ??= new HashSet<string>(StringComparer.Ordinal)).Add(c.CgroupPath);
                if (_ended.Contains(c.CgroupPath))
                    continue;
            }
            if (!_byCgroup.TryGetValue(c.CgroupPath, out Tracked? t))
                _byCgroup[c.CgroupPath] = t = new Tracked(c);
            t.Add(c);
        }
        _ended = ended ?? NoneEnded;

        var containers = new Reading[_byCgroup.Count];
        int i = 0;
        foreach (Tracked t in _byCgroup.Values)
            containers[i++] = t.Read();
        Bpf.KernelStats k = window.KernelCounters;
        Published last = _last;
        _last = new Published(containers, last.LostEvents + Math.Max(0, window.LostEvents), last.Windows + 1,
            [(long)k.LostSamples, (long)k.LostThrottles, (long)k.StampMapFull]);
    }

    public void Dispose()
    {
        if (_ownsMeter)
            Meter.Dispose();
    }

    private IEnumerable<Measurement<T>> Each<T>(Func<Reading, T> value) where T : struct
    {
        foreach (Reading r in _last.Containers)
            yield return new Measurement<T>(value(r), r.Tags.Container);
    }

    private IEnumerable<Measurement<double>> ObserveLatency()
    {
        foreach (Reading r in _last.Containers)
        {
            if (!r.Ran || r.LatencyNs.Length == 0)
                continue;
            for (int q = 0; q < Quantiles.Length; q++)
                yield return new Measurement<double>(r.LatencyNs[q] / 1e9, r.Tags.Quantile[q]);
        }
    }

    private IEnumerable<Measurement<long>> ObservePreemptions()
    {
        foreach (Reading r in _last.Containers)
            for (int p = 0; p < Preemptors.Length; p++)
                yield return new Measurement<long>(r.Preempted[p], r.Tags.Preemptor[p]);
    }

    private IEnumerable<Measurement<double>> ObserveCpu()
    {
        foreach (Reading r in _last.Containers)
            if (r.CpuKnown)
                yield return new Measurement<double>(r.CpuNs / 1e9, r.Tags.Container);
    }

    private IEnumerable<Measurement<long>> ObserveKernelDrops()
    {
        long[] drops = _last.KernelDrops;
        for (int i = 0; i < DropReasons.Length; i++)
            yield return new Measurement<long>(drops[i], new KeyValuePair<string, object?>("reason", DropReasons[i]));
    }

    /// <summary>What the instruments read: replaced whole by each window.</summary>
    private sealed record Published(Reading[] Containers, long LostEvents, long Windows, long[] KernelDrops)
    {
        public static readonly Published Empty = new([], 0, 0, new long[DropReasons.Length]);
    }

    /// <summary>One container's totals and last window's quantiles, as published.</summary>
    private readonly record struct Reading(ContainerTags Tags, bool Ran, double[] LatencyNs, long Waits, double WaitNs, long[] Preempted,
        long Periods, long ThrottledPeriods, long ThrottledNs, bool CpuKnown, long CpuNs);

    /// <summary>A container's tag lists, built once: alone, with each quantile, with each preemptor.</summary>
    private sealed class ContainerTags
    {
        public ContainerTags(ContainerSnapshot c)
        {
            KeyValuePair<string, object?>[] tags =
            [
                new("cgroup.path", c.CgroupPath),
                new("container.name", c.Identity?.ContainerName ?? c.Name),
                new("k8s.pod.name", c.Identity?.PodName ?? ""),
                new("k8s.namespace.name", c.Identity?.Namespace ?? ""),
            ];
            Container = tags;
            Quantile = Quantiles.Select(q => (KeyValuePair<string, object?>[])[.. tags, new("quantile", q)]).ToArray();
            Preemptor = Preemptors.Select(p => (KeyValuePair<string, object?>[])[.. tags, new("preemptor", p)]).ToArray();
        }

        public KeyValuePair<string, object?>[] Container { get; }
        public KeyValuePair<string, object?>[][] Quantile { get; }
        public KeyValuePair<string, object?>[][] Preemptor { get; }
    }

    /// <summary>A container's totals, kept by the recording thread only.</summary>
    private sealed class Tracked(ContainerSnapshot first)
    {
        private readonly ContainerTags _tags = new(first);
        private readonly long[] _preempted = new long[Preemptors.Length];
        private double[] _latencyNs = [];
        private long _waits, _periods, _throttledPeriods, _throttledNs, _cpuNs;
        private double _waitNs;
        private bool _cpuKnown;

        public bool Ran { get; set; }
        public bool Ended { get; private set; }

        public void Add(ContainerSnapshot c)
        {
            Ran = true;
            Ended |= c.Ended;
            _latencyNs = c.RunQueue.Count == 0 ? [] : [.. Quantiles.Select(q => q >= 1 ? c.RunQueue.Max : c.RunQueue.ValueAtQuantile(q))];
            _waits += c.RunQueue.Count;
            _waitNs += c.RunQueue.Sum;
            _preempted[0] += Math.Max(0, c.PreemptedBySame);
            _preempted[1] += Math.Max(0, c.PreemptedByOther);
            _preempted[2] += Math.Max(0, c.PreemptedByHost);
            _preempted[3] += Math.Max(0, c.PreemptedByUnknown);
            _periods += Math.Max(0, c.Throttling.Periods);
            _throttledPeriods += Math.Max(0, c.Throttling.ThrottledPeriods);
            _throttledNs += Math.Max(0, c.Throttling.ThrottledNs);
            if (c.CpuUsageNs >= 0)
            {
                _cpuKnown = true;
                _cpuNs += c.CpuUsageNs;
            }
        }

        public Reading Read() => new(_tags, Ran, _latencyNs, _waits, _waitNs, (long[])_preempted.Clone(),
            _periods, _throttledPeriods, _throttledNs, _cpuKnown, _cpuNs);
    }
}
