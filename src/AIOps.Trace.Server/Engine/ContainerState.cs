using AIOps.Trace.Aggregation;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Diagnosis;
using AIOps.Trace.Server.Api;

namespace AIOps.Trace.Server.Engine;

/// <summary>
/// One container since the sidecar first saw it: the sums of every window it ran in, and the
/// last window's figures and verdicts. Owned by the engine loop; the API sees immutable views.
/// </summary>
internal sealed class ContainerState(string id, string cgroup, DateTimeOffset firstSeen)
{
    public string Id { get; } = id;
    public string Cgroup { get; } = cgroup;
    public DateTimeOffset FirstSeen { get; } = firstSeen;
    public ContainerIdentity? Identity { get; set; }
    public string Name { get; set; } = "";
    public string Runtime { get; set; } = "";

    /// <summary>Label values of its metric series, fixed at first sight: container, pod, namespace, cgroup.</summary>
    public string[] Labels { get; set; } = [];

    /// <summary>Fine cumulative histogram, for the quantiles.</summary>
    public LogLinearHistogram RunQueue { get; } = new();

    /// <summary>Cumulative published buckets: the sum of every window's fold.</summary>
    public long[] Buckets { get; } = new long[RunQueueBuckets.Count];

    public long Same, Other, Host, Unknown, Periods, ThrottledPeriods, ThrottledNs, CpuNs;

    public WindowFigures? LastWindow { get; set; }
    public Dictionary<string, ResourceDiagnosis> Diagnosis { get; } = new(StringComparer.Ordinal);
    public AIOps.Trace.Contracts.CpuEvidenceDocument? CpuEvidence { get; set; }
    public IReadOnlyList<PreemptorView> TopPreemptors { get; set; } = [];

    /// <summary>The anomaly verdict of the last round, when it was judged in it.</summary>
    public VerdictSummary? Verdict { get; set; }

    /// <summary>Its cgroup is gone: reported in this window's views, dropped at the next.</summary>
    public bool Ended { get; set; }

    /// <summary>Its cgroup path was created again and another id now runs there: its metric series went to the newcomer.</summary>
    public bool Superseded { get; set; }

    public string? CpuOutcome => Diagnosis.TryGetValue("cpu", out ResourceDiagnosis? d) ? d.Outcome : null;

    public ContainerView View() => new(
        Id, Cgroup, Name, Runtime, Identity?.ContainerName, Identity?.ContainerId, Identity?.PodName, Identity?.PodUid,
        Identity?.Namespace, Identity?.QosClass, Identity?.Image, Ended, FirstSeen, LastWindow,
        new CumulativeFigures(RunQueue.Count, RunQueue.Sum / 1e9, Us(RunQueue.ValueAtQuantile(0.5)), Us(RunQueue.ValueAtQuantile(0.99)),
            new PreemptionCounts(Same, Other, Host, Unknown), Periods, ThrottledPeriods, ThrottledNs / 1e9, CpuNs / 1e9),
        CpuOutcome, Verdict);

    internal static double Us(double ns) => Math.Round(ns / 1000.0, 1);
}
