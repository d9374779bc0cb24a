using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Analysis.Collection;

/// <summary>
/// The per-container series every sidecar exports for cluster mode, and how they become the
/// pipeline's <see cref="ContainerInput"/>s again. Each series carries the labels container, pod,
/// namespace and cgroup, plus the sidecar's static node label:
/// <list type="bullet">
/// <item><c>aiops_trace_container_vector{metric}</c>: one slot of the metric vector (NaN when absent);</item>
/// <item><c>aiops_trace_container_info{runtime,image,owner,owner_kind,qos_class}</c> = 1;</item>
/// <item><c>aiops_trace_container_limit{limit}</c>: cpu_quota_cores, cpu_shares, cpuset_cpus, memory_bytes (NaN when unknown);</item>
/// <item><c>aiops_trace_diagnosis{resource,outcome}</c> = 1 for the outcome decided.</item>
/// </list>
/// A container is keyed by node and cgroup ("node-a:/kubepods/pod1/c1"): two nodes' equal cgroup
/// paths are two containers.
/// </summary>
public static class ExportedSeries
{
    public const string Vector = "aiops_trace_container_vector";
    public const string Info = "aiops_trace_container_info";
    public const string Limit = "aiops_trace_container_limit";
    public const string Diagnosis = "aiops_trace_diagnosis";

    /// <summary>The info series' labels, in the order <see cref="InfoValues"/> returns them.</summary>
    public static readonly string[] InfoLabels = ["runtime", "image", "owner", "owner_kind", "qos_class"];

    /// <summary>Values of the limit series' <c>limit</c> label, in the order <see cref="LimitValues"/> returns them.</summary>
    public static readonly string[] LimitNames = ["cpu_quota_cores", "cpu_shares", "cpuset_cpus", "memory_bytes"];

    /// <summary>The info labels' values (<see cref="InfoLabels"/>); empty for unknown.</summary>
    public static string[] InfoValues(ContainerAttributes a) =>
        [a.Runtime, a.Image ?? "", a.Owner ?? "", a.OwnerKind ?? "", a.QosClass ?? ""];

    /// <summary>The limits in the order of <see cref="LimitNames"/>; NaN for unlimited or unknown.</summary>
    public static double[] LimitValues(ContainerAttributes a) =>
        [a.CpuQuotaCores, a.CpuShares, a.CpusetSize, a.MemoryLimitBytes];

    /// <summary>Outcomes that are no finding: not shown beside a verdict when another resource has one (as the sidecar shows them).</summary>
    private static readonly HashSet<string> NoFinding = new(StringComparer.Ordinal)
    {
        AIOps.Trace.Diagnosis.Outcomes.NotThrottled, AIOps.Trace.Diagnosis.Outcomes.NotLimited, AIOps.Trace.Diagnosis.Outcomes.Undecidable,
    };

    /// <summary>The order the diagnosis walks resources in.</summary>
    private static readonly string[] Resources = ["cpu", "memory", "disk", "network"];

    /// <summary>The key of a series' container: "node:cgroup"; the scrape's instance stands in when a sidecar exports no node.</summary>
    /// <returns>Null when the series has no cgroup label (not a container's).</returns>
    public static string? KeyOf(PrometheusSample s) =>
        s.Label("cgroup") is { } cgroup ? $"{NodeOf(s) ?? ""}:{cgroup}" : null;

    /// <summary>The node a series came from: its node label, else its scrape instance.</summary>
    public static string? NodeOf(PrometheusSample s) => s.Label("node") ?? s.Label("instance");

    /// <summary>
    /// Builds one input per container that has vector samples. Info, limits and diagnosis of
    /// containers without a vector are ignored; a container without info is an unnamed cgroup
    /// (owned by its last path element), one without limits has NaN limits.
    /// </summary>
    public static List<ContainerInput> Map(IReadOnlyList<PrometheusSample> vector, IReadOnlyList<PrometheusSample> info,
        IReadOnlyList<PrometheusSample> limits, IReadOnlyList<PrometheusSample> diagnoses)
    {
        var containers = new Dictionary<string, Builder>(StringComparer.Ordinal);
        foreach (PrometheusSample s in vector)
        {
            if (KeyOf(s) is not { } key)
                continue;
            if (!containers.TryGetValue(key, out Builder? b))
                containers[key] = b = new Builder(key, s.Label("cgroup")!, NodeOf(s));
            // A slot this build does not know (a newer sidecar) is left out rather than misplaced.
            if (s.Label("metric") is { } metric && Metrics.SlotOf(metric) is int slot and >= 0)
                b.Values[slot] = s.Value;
        }
        foreach (PrometheusSample s in info)
            if (KeyOf(s) is { } key && containers.TryGetValue(key, out Builder? b))
                b.Info = s;
        foreach (PrometheusSample s in limits)
            if (KeyOf(s) is { } key && containers.TryGetValue(key, out Builder? b) && s.Label("limit") is { } limit)
                b.Limits[limit] = s.Value;
        foreach (PrometheusSample s in diagnoses)
            if (s.Value == 1 && KeyOf(s) is { } key && containers.TryGetValue(key, out Builder? b)
                && s.Label("resource") is { } resource && s.Label("outcome") is { } outcome)
                b.Outcomes[resource] = outcome;

        return containers.Values.OrderBy(b => b.Key, StringComparer.Ordinal).Select(b => b.Build()).ToList();
    }

    /// <summary>
    /// What to show beside a verdict, as the sidecar words it: the resources with a finding
    /// ("cpu: cap_throttled; memory: limit_reclaim"), else the CPU outcome; null without a diagnosis.
    /// </summary>
    public static string? DiagnosisText(IReadOnlyDictionary<string, string> outcomes)
    {
        if (outcomes.Count == 0)
            return null;
        KeyValuePair<string, string>[] ordered = outcomes
            .OrderBy(o => Array.IndexOf(Resources, o.Key) is int i and >= 0 ? i : Resources.Length).ThenBy(o => o.Key, StringComparer.Ordinal)
            .ToArray();
        string[] findings = ordered.Where(o => !NoFinding.Contains(o.Value)).Select(o => $"{o.Key}: {o.Value}").ToArray();
        return findings.Length > 0 ? string.Join("; ", findings) : $"{ordered[0].Key}: {ordered[0].Value}";
    }

    private sealed class Builder(string key, string cgroup, string? node)
    {
        public string Key { get; } = key;
        public double[] Values { get; } = Enumerable.Repeat(double.NaN, Metrics.Count).ToArray();
        public PrometheusSample? Info { get; set; }
        public Dictionary<string, double> Limits { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, string> Outcomes { get; } = new(StringComparer.Ordinal);

        public ContainerInput Build()
        {
            (string? owner, string? ownerKind) = Info?.Label("owner") is { } o
                ? (o, Info.Label("owner_kind"))
                : ContainerAttributes.CgroupOwner(cgroup);
            double[] l = LimitNames.Select(name => Limits.TryGetValue(name, out double v) && double.IsFinite(v) && v > 0 ? v : double.NaN).ToArray();
            var attributes = new ContainerAttributes(
                Key, Info?.Label("runtime") ?? ContainerRuntime.Cgroup, Info?.Label("image"), owner, ownerKind,
                new Dictionary<string, string>(), Info?.Label("qos_class"),
                l[0], l[1], l[2], l[3], node); // LimitValues' order
            return new ContainerInput(attributes, new MetricVector(Key, Values), DiagnosisText(Outcomes));
        }
    }
}
