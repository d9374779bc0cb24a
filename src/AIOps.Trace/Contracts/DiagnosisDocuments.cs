using System.Text.Json.Serialization;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Contracts;

// The JSON of a diagnosis, one definition for `aiops-trace diagnose --json` and the HTTP API
// (GET /api/v1/containers/{id}). Property names are snake_case and part of both contracts:
// tests/AIOps.Trace.Tests/Unit/Contracts holds a golden file per document, so a rename shows.

/// <summary>One resource's diagnosis: the outcome, its sentence, and the path of questions that led to it.</summary>
/// <param name="UndecidableReason">Why no outcome could be decided; left out when one was.</param>
public sealed record DiagnosisDocument(string Outcome, string Summary,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? UndecidableReason,
    IReadOnlyList<DiagnosisStepDocument> Path)
{
    /// <summary>The document of <paramref name="d"/>.</summary>
    public static DiagnosisDocument From(ResourceDiagnosis d)
    {
        ArgumentNullException.ThrowIfNull(d);
        return new(d.Outcome, d.Summary, d.UndecidableReason, d.Path.Select(DiagnosisStepDocument.From).ToList());
    }
}

/// <summary>One question of a diagnosis: the metric, its value (null when it could not be measured), the threshold and the answer.</summary>
public sealed record DiagnosisStepDocument(string Step, string Metric, double? Value, double Threshold, bool Result)
{
    /// <summary>The document of <paramref name="s"/>, the value to 4 decimals.</summary>
    public static DiagnosisStepDocument From(DiagnosisStep s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return new(s.Step, s.Metric, double.IsFinite(s.Value) ? Math.Round(s.Value, 4) : null, s.Threshold, s.Result);
    }
}

/// <summary>A cgroup that preempted the container in the window, with its own CPU use.</summary>
public sealed record NoisyNeighbourDocument(string Cgroup, long Preemptions, double CpuUsageCores)
{
    /// <summary>The document of <paramref name="n"/>, cores to 3 decimals.</summary>
    public static NoisyNeighbourDocument From(NoisyNeighbour n)
    {
        ArgumentNullException.ThrowIfNull(n);
        return new(n.CgroupPath, n.Preemptions, Math.Round(n.CpuUsageCores, 3));
    }
}

/// <summary>The CPU figures the diagnosis weighed: run-queue latency, CPU use and who preempted the container most.</summary>
public sealed record CpuEvidenceDocument(double RunqP50Us, double RunqP99Us, double CpuUsageCores, IReadOnlyList<NoisyNeighbourDocument> NoisyNeighbours)
{
    /// <summary>The document of <paramref name="e"/>: latencies to 0.1 µs, cores to 3 decimals.</summary>
    public static CpuEvidenceDocument From(CpuEvidence e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new(Math.Round(e.RunQueueP50Us, 1), Math.Round(e.RunQueueP99Us, 1), Math.Round(e.CpuUsageCores, 3),
            e.TopPreemptors.Select(NoisyNeighbourDocument.From).ToList());
    }
}

/// <summary>`aiops-trace diagnose --json`: the window and each container's diagnoses.</summary>
public sealed record DiagnoseDocument(double WindowS, long LostEvents, IReadOnlyList<DiagnosedContainerDocument> Containers)
{
    /// <summary>The document of <paramref name="results"/> over <paramref name="window"/>.</summary>
    public static DiagnoseDocument From(EngineSnapshot window, IEnumerable<ContainerDiagnosis> results)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(results);
        return new(Math.Round(window.WindowSeconds, 3), window.LostEvents, results.Select(DiagnosedContainerDocument.From).ToList());
    }
}

/// <summary>One container's diagnoses: a property per resource diagnosed (cpu always; memory, disk and network when probed).</summary>
public sealed record DiagnosedContainerDocument(string Cgroup, string Name, string Runtime, bool Ended,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DiagnosisDocument? Cpu,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DiagnosisDocument? Memory,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DiagnosisDocument? Disk,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DiagnosisDocument? Network,
    CpuEvidenceDocument CpuEvidence)
{
    /// <summary>The document of <paramref name="d"/>.</summary>
    public static DiagnosedContainerDocument From(ContainerDiagnosis d)
    {
        ArgumentNullException.ThrowIfNull(d);
        DiagnosisDocument? Of(string resource) => d.All.FirstOrDefault(r => r.Resource == resource) is { } r ? DiagnosisDocument.From(r) : null;
        ContainerSnapshot c = d.Container;
        return new(c.CgroupPath, c.Name, c.Runtime, c.Ended, Of(CpuDiagnosis.Resource), Of(MemoryDiagnosis.Resource),
            Of(DiskDiagnosis.Resource), Of(NetworkDiagnosis.Resource), CpuEvidenceDocument.From(d.CpuEvidence));
    }
}
