using AIOps.Trace.Analysis;
using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection;
using Prometheus;
using MetricSlots = AIOps.Trace.Analysis.Collection.Metrics;

namespace AIOps.Trace.Server.Metrics;

/// <summary>
/// The series the anomaly analysis reads and writes, per container: its metric vector
/// (<c>aiops_trace_container_vector</c>), its attributes (<c>aiops_trace_container_info</c>), its
/// limits (<c>aiops_trace_container_limit</c>) and the verdict (<c>aiops_trace_anomaly</c>,
/// <c>aiops_trace_anomaly_score</c>). `aiops-trace analyze --prometheus` reads the first three back
/// from every node, so their names and labels are a contract (docs/http-api.md, "Metrics"). Each container's
/// series are set together and removed together; a series whose label values change (identity
/// learnt later, another domain or detector) is removed before the new one is set, so a scrape
/// never shows two.
/// </summary>
public sealed class AnalysisMetrics
{
    private readonly Gauge _vector, _info, _limit, _anomaly, _score;
    private readonly Dictionary<string, Entry> _byKey = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    private sealed class Entry(string[] labels)
    {
        public string[] Labels { get; } = labels;
        public string[]? Info { get; set; }
        public bool Inputs { get; set; }

        // The container's vector and limit series, looked up once while it stays (not per window).
        public IGauge[]? Vector { get; set; }
        public IGauge[]? Limit { get; set; }
        public string[]? Verdict { get; set; }
    }

    /// <param name="containerLabels">The label names that tell containers apart (the sidecar's container, pod, namespace, cgroup).</param>
    public AnalysisMetrics(MetricFactory f, string[] containerLabels)
    {
        _vector = f.CreateGauge(ExportedSeries.Vector,
            "The container's metric vector over the last window, one series per metric; NaN when the signal is absent.",
            [.. containerLabels, "metric"]);
        _info = f.CreateGauge(ExportedSeries.Info,
            "The container's attributes as labels (empty when unknown); the value is always 1.",
            [.. containerLabels, .. ExportedSeries.InfoLabels]);
        _limit = f.CreateGauge(ExportedSeries.Limit,
            "The container's limits: CPU quota in cores, CPU shares, CPUs in its cpuset, memory limit in bytes; NaN when unlimited or unknown.",
            [.. containerLabels, "limit"]);
        _anomaly = f.CreateGauge("aiops_trace_anomaly",
            "The anomaly verdict of the last round: 1 abnormal, 0 normal; absent when the container was not judged (too few peers, insufficient data).",
            [.. containerLabels, "domain", "detector"]);
        _score = f.CreateGauge("aiops_trace_anomaly_score",
            "How abnormal the container is: the robust distance over its cutoff for peer outliers (above 1 is beyond), the negated SVM decision value (above 0 is abnormal).",
            [.. containerLabels, "domain", "detector"]);
    }

    /// <summary>Containers with series.</summary>
    public int Count
    {
        get { lock (_gate) return _byKey.Count; }
    }

    /// <summary>Sets a container's vector, attributes and limits.</summary>
    /// <param name="key">What the caller names the container by; <paramref name="labels"/> are fixed at its first call.</param>
    public void SetInputs(string key, string[] labels, ContainerInput input)
    {
        lock (_gate)
        {
            Entry e = EntryOf(key, labels);
            double[] values = input.Vector.Values;
            e.Vector ??= MetricSlots.Names.Select(m => (IGauge)_vector.WithLabels([.. e.Labels, m])).ToArray();
            for (int i = 0; i < e.Vector.Length; i++)
                e.Vector[i].Set(i < values.Length ? values[i] : double.NaN);
            double[] limits = ExportedSeries.LimitValues(input.Attributes);
            e.Limit ??= ExportedSeries.LimitNames.Select(l => (IGauge)_limit.WithLabels([.. e.Labels, l])).ToArray();
            for (int i = 0; i < e.Limit.Length; i++)
                e.Limit[i].Set(limits[i]);
            string[] info = ExportedSeries.InfoValues(input.Attributes);
            if (e.Info is { } old && !old.AsSpan().SequenceEqual(info))
                _info.RemoveLabelled([.. e.Labels, .. old]);
            _info.WithLabels([.. e.Labels, .. info]).Set(1);
            e.Info = info;
            e.Inputs = true;
        }
    }

    /// <summary>Sets a container's verdict; a verdict that judged nothing (or null) removes the series.</summary>
    public void SetVerdict(string key, string[] labels, Verdict? verdict)
    {
        lock (_gate)
        {
            Entry e = EntryOf(key, labels);
            string[]? next = verdict is { Status: VerdictStatus.Abnormal or VerdictStatus.Normal } ? [verdict.Domain, verdict.Detector] : null;
            if (e.Verdict is { } old && (next is null || !old.AsSpan().SequenceEqual(next)))
            {
                _anomaly.RemoveLabelled([.. e.Labels, .. old]);
                _score.RemoveLabelled([.. e.Labels, .. old]);
            }
            e.Verdict = next;
            if (next is null)
                return;
            _anomaly.WithLabels([.. e.Labels, .. next]).Set(verdict!.IsAbnormal ? 1 : 0);
            _score.WithLabels([.. e.Labels, .. next]).Set(verdict.Score);
        }
    }

    /// <summary>Removes every series of a container.</summary>
    public void Remove(string key)
    {
        lock (_gate)
        {
            if (!_byKey.Remove(key, out Entry? e))
                return;
            if (e.Inputs)
            {
                foreach (string m in MetricSlots.Names)
                    _vector.RemoveLabelled([.. e.Labels, m]);
                foreach (string l in ExportedSeries.LimitNames)
                    _limit.RemoveLabelled([.. e.Labels, l]);
            }
            if (e.Info is { } info)
                _info.RemoveLabelled([.. e.Labels, .. info]);
            if (e.Verdict is { } v)
            {
                _anomaly.RemoveLabelled([.. e.Labels, .. v]);
                _score.RemoveLabelled([.. e.Labels, .. v]);
            }
        }
    }

    /// <summary>Removes the series of every container not in <paramref name="keep"/> (a host that pulls whole rounds).</summary>
    public void RetainOnly(IReadOnlySet<string> keep)
    {
        lock (_gate)
        {
            foreach (string key in _byKey.Keys.Where(k => !keep.Contains(k)).ToList())
                Remove(key);
        }
    }

    private Entry EntryOf(string key, string[] labels)
    {
        if (!_byKey.TryGetValue(key, out Entry? e))
            _byKey[key] = e = new Entry(labels);
        return e;
    }
}
