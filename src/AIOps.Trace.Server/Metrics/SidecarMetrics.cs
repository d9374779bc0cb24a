using AIOps.Trace.Server.Engine;
using Prometheus;

namespace AIOps.Trace.Server.Metrics;

/// <summary>
/// The Prometheus view, kept by prometheus-net in a registry of its own (no default process
/// metrics): per-container series are created when a container is first seen and removed when
/// it is dropped, the engine's health series are always there. <see cref="RunQueueDetail"/> says how
/// many run-queue buckets each container's histogram carries (none: no histogram at all). Updated by the engine loop only;
/// scrapes read the registry concurrently, which prometheus-net allows.
/// </summary>
public sealed class SidecarMetrics
{
    private static readonly string[] ContainerLabels = ["container", "pod", "namespace", "cgroup"];

    private readonly Histogram? _runQueue;
    private readonly Counter _preemptions;
    private readonly Counter _periods;
    private readonly Counter _throttledPeriods;
    private readonly Counter _throttledSeconds;
    private readonly Counter _cpuSeconds;
    private readonly Gauge _diagnosis;

    public SidecarMetrics(string node, RunQueueDetail runQueueDetail = RunQueueDetail.Coarse)
    {
        RunQueueDetail = runQueueDetail;
        Registry = Prometheus.Metrics.NewCustomRegistry();
        Registry.SetStaticLabels(new Dictionary<string, string> { ["node"] = node });
        MetricFactory f = Prometheus.Metrics.WithCustomRegistry(Registry);

        _runQueue = runQueueDetail == RunQueueDetail.None ? null : f.CreateHistogram("aiops_trace_runqueue_latency_seconds",
            "Run-queue latency: how long tasks of the container waited on a run queue before they ran.",
            ContainerLabels, new HistogramConfiguration { Buckets = SeriesBudget.BoundsSeconds(runQueueDetail) });
        _preemptions = f.CreateCounter("aiops_trace_preemptions_total",
            "Involuntary preemptions of the container's tasks, by who took the CPU (same, other, host, unknown).",
            [.. ContainerLabels, "preemptor"]);
        _periods = f.CreateCounter("aiops_trace_cfs_periods_total", "CFS bandwidth enforcement periods elapsed (cpu.stat nr_periods).", ContainerLabels);
        _throttledPeriods = f.CreateCounter("aiops_trace_cfs_throttled_periods_total", "CFS bandwidth periods in which the container was throttled (cpu.stat nr_throttled).", ContainerLabels);
        _throttledSeconds = f.CreateCounter("aiops_trace_cfs_throttled_seconds_total", "Time the container was throttled by its CFS quota.", ContainerLabels);
        _cpuSeconds = f.CreateCounter("aiops_trace_cpu_usage_seconds_total", "CPU time the container used.", ContainerLabels);
        _diagnosis = f.CreateGauge(AIOps.Trace.Analysis.Collection.ExportedSeries.Diagnosis,
            "The last verdict of the reverse diagnosis per resource: 1 for the outcome decided.",
            [.. ContainerLabels, "resource", "outcome"]);

        LostEvents = f.CreateCounter("aiops_trace_lost_events_total", "Events the kernel could not deliver (ring full) or the reader could not parse.");
        DroppedEvents = f.CreateCounter("aiops_trace_dropped_events_total",
            "Events lost (lost_samples, lost_throttles, unreadable_records: they make up lost_events) or seen and not measured (the other reasons), by reason.",
            ["reason"]);
        RingSkippedBytes = f.CreateCounter("aiops_trace_ring_skipped_bytes_total", "Bytes of a perf ring skipped unread after a record of impossible size.");
        Windows = f.CreateCounter("aiops_trace_windows_total", "Windows the engine cut.");
        WindowSeconds = f.CreateGauge("aiops_trace_window_seconds", "Length of the last window.");
        CutSeconds = f.CreateGauge("aiops_trace_window_cut_seconds", "How long cutting, diagnosing and analysing the last window took.");
        ReadAheadSeconds = f.CreateGauge("aiops_trace_window_read_ahead_seconds",
            "How long the last read-ahead took: the readings and tree scan due at the next cut, taken between two cuts (0 when every window reads all).");
        CollectSeconds = f.CreateGauge("aiops_trace_window_collect_seconds",
            "How long the young collection after the last window took (0 when the sidecar does not collect between windows).");
        AttachedPrograms = f.CreateGauge("aiops_trace_attached_programs", "BPF programs attached (0 in procfs mode).");
        ReaderFailures = f.CreateCounter("aiops_trace_reader_failures_total", "Windows refused because the ring reader stopped.");
        EngineRestarts = f.CreateCounter("aiops_trace_engine_restarts_total", "Times the supervisor started the engine again after it failed.");
        Ready = f.CreateGauge("aiops_trace_ready", "1 when programs are attached and a window was cut.");
        Containers = f.CreateGauge("aiops_trace_containers", "Containers tracked.");
        StreamClients = f.CreateGauge("aiops_trace_stream_clients", "Open /api/v1/stream connections.");
        StreamDroppedFrames = f.CreateCounter("aiops_trace_stream_dropped_frames_total", "Stream frames dropped for clients that did not keep up.");
        _gcCollections = f.CreateCounter("aiops_trace_gc_collections_total", "Garbage collections of the sidecar's managed heap, by generation.", "generation");
        _heapBytes = f.CreateGauge("aiops_trace_managed_heap_bytes", "Bytes the sidecar's managed heap held after the last collection (before the first, what it holds now).");
        Analysis = new AnalysisMetrics(f, ContainerLabels);
    }

    public CollectorRegistry Registry { get; }

    /// <summary>How many run-queue buckets each container's histogram carries.</summary>
    public RunQueueDetail RunQueueDetail { get; }

    public Counter LostEvents { get; }
    public Counter DroppedEvents { get; }
    public Counter RingSkippedBytes { get; }
    public Counter Windows { get; }
    public Gauge WindowSeconds { get; }
    public Gauge CutSeconds { get; }
    public Gauge ReadAheadSeconds { get; }
    public Gauge CollectSeconds { get; }
    public Gauge AttachedPrograms { get; }
    public Counter ReaderFailures { get; }
    public Counter EngineRestarts { get; }
    public Gauge Ready { get; }
    public Gauge Containers { get; }
    public Gauge StreamClients { get; }
    public Counter StreamDroppedFrames { get; }

    /// <summary>Per-container vector, attributes, limits and anomaly verdict (keyed by the container's API id).</summary>
    public AnalysisMetrics Analysis { get; }

    /// <summary>Adds one window's observations of a container.</summary>
    /// <param name="labels">The container's label values, fixed at first sight so its series never split.</param>
    public void AddWindow(string[] labels, in ContainerWindow w)
    {
        // Coarse bounds are a subset of the full ones, which are exact edges of the engine's fine
        // buckets, and each observation is a fine bucket's midpoint: every count lands where its raw waits belong.
        Series series = _series.GetValue(labels, NewSeries);
        if (series.RunQueue is { } h)
            foreach ((double valueNs, long count) in w.Observations)
                h.Observe(valueNs / 1e9, count);
        series.Same.Inc(Math.Max(0, w.Same));
        series.Other.Inc(Math.Max(0, w.Other));
        series.Host.Inc(Math.Max(0, w.Host));
        series.Unknown.Inc(Math.Max(0, w.Unknown));
        series.Periods.Inc(Math.Max(0, w.Periods));
        series.ThrottledPeriods.Inc(Math.Max(0, w.ThrottledPeriods));
        series.ThrottledSeconds.Inc(Math.Max(0, w.ThrottledNs) / 1e9);
        series.CpuSeconds.Inc(Math.Max(0, w.CpuNs) / 1e9);
    }

    // A container's counter series, looked up once while its label array lives (the state holds
    // it), not per window: at a thousand containers the label lookups were a tenth of a window.
    private sealed record Series(Histogram.Child? RunQueue, Counter.Child Same, Counter.Child Other, Counter.Child Host, Counter.Child Unknown,
        Counter.Child Periods, Counter.Child ThrottledPeriods, Counter.Child ThrottledSeconds, Counter.Child CpuSeconds);

    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<string[], Series> _series = new();

    // The preemptor label's values, in the order of Series' fields.
    private static readonly string[] Preemptors = ["same", "other", "host", "unknown"];

    private Series NewSeries(string[] labels)
    {
        Counter.Child[] p = [.. Preemptors.Select(by => _preemptions.WithLabels([.. labels, by]))];
        return new(_runQueue?.WithLabels(labels), p[0], p[1], p[2], p[3],
            _periods.WithLabels(labels), _throttledPeriods.WithLabels(labels), _throttledSeconds.WithLabels(labels), _cpuSeconds.WithLabels(labels));
    }

    /// <summary>Brings the drop counters up to the engine's cumulative figures of this window.</summary>
    private readonly Counter _gcCollections;
    private readonly Gauge _heapBytes;
    private static readonly string[] Generations = ["0", "1", "2"];

    /// <summary>The sidecar's own garbage collector, once a window: what the Soak target watches for growth.</summary>
    public void SetRuntime()
    {
        for (int g = 0; g < Generations.Length; g++)
            _gcCollections.WithLabels(Generations[g]).IncTo(GC.CollectionCount(g));
        GCMemoryInfo gc = GC.GetGCMemoryInfo();
        // Before the first collection there is no "after": what the heap holds now.
        _heapBytes.Set(gc.Index == 0 ? GC.GetTotalMemory(forceFullCollection: false) : gc.HeapSizeBytes);
    }

    public void SetDrops(EngineSnapshot window)
    {
        foreach (string reason in DropCounters.Drops)
            DroppedEvents.WithLabels(reason).IncTo(DropCounters.Value(window, reason));
        RingSkippedBytes.IncTo(window.Unreadable.Bytes);
    }

    /// <summary>Sets the verdict series of one resource, removing the previous outcome's.</summary>
    public void SetDiagnosis(string[] labels, string resource, string? previousOutcome, string outcome)
    {
        if (previousOutcome == outcome)
            return; // its series is there, at 1 (a label lookup per container and resource each window was 4% of a window)
        if (previousOutcome is not null)
            _diagnosis.RemoveLabelled([.. labels, resource, previousOutcome]);
        _diagnosis.WithLabels([.. labels, resource, outcome]).Set(1);
    }

    /// <summary>Removes every series of a dropped container.</summary>
    public void Remove(string id, string[] labels, IEnumerable<KeyValuePair<string, string>> outcomes)
    {
        Analysis.Remove(id);
        _series.Remove(labels);
        _runQueue?.RemoveLabelled(labels);
        foreach (string p in Preemptors)
            _preemptions.RemoveLabelled([.. labels, p]);
        _periods.RemoveLabelled(labels);
        _throttledPeriods.RemoveLabelled(labels);
        _throttledSeconds.RemoveLabelled(labels);
        _cpuSeconds.RemoveLabelled(labels);
        foreach ((string resource, string outcome) in outcomes)
            _diagnosis.RemoveLabelled([.. labels, resource, outcome]);
    }
}

/// <summary>One container's figures over one window, as the metrics take them.</summary>
public readonly record struct ContainerWindow(IReadOnlyList<(double ValueNs, long Count)> Observations,
    long Same, long Other, long Host, long Unknown, long Periods, long ThrottledPeriods, long ThrottledNs, long CpuNs);
