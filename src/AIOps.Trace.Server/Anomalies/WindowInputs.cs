using System.Collections.Concurrent;
using AIOps.Trace.Analysis;
using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Server.Anomalies;

/// <summary>
/// Turns an engine window and its diagnoses into the anomaly pipeline's input: each container's
/// attributes (identity, CPU limits, memory limit, node) and metric vector, with its diagnosis
/// outcome to show beside the verdict. Runs on the engine loop, while the window is still open;
/// the limits are the window's own (read at its cut), never read again.
/// </summary>
internal static class WindowInputs
{
    /// <summary>One input per tenant of the window (not the host's root cgroup), keyed by the snapshot (compared by reference).</summary>
    public static Dictionary<ContainerSnapshot, ContainerInput> Build(TraceWindow window, IReadOnlyList<ContainerDiagnosis> diagnoses, string node)
    {
        var byContainer = diagnoses.ToDictionary(d => d.Container);
        var inputs = new Dictionary<ContainerSnapshot, ContainerInput>(window.Containers.Count, ReferenceEqualityComparer.Instance);
        foreach (ContainerSnapshot c in window.Containers)
        {
            if (c.CgroupPath == "/")
                continue; // the host itself is the context, not a tenant (as in WindowDiagnosis)
            byContainer.TryGetValue(c, out ContainerDiagnosis? d);
            MetricVector vector = d is null ? MetricVector.From(c, window.Seconds) : MetricVector.From(d, window.Seconds);
            CpuLimits cpu = d is null ? window.ReadingsOf(c.CgroupPath).Limits : d.CpuEvidence.ToLimits();
            long memoryLimit = d?.EvidenceOf<MemoryEvidence>()?.LimitBytes ?? -1; // -1: unlimited, or no memory reading this window
            ContainerAttributes attributes = ContainerAttributes.From(c.CgroupPath, c.Identity, cpu, memoryLimit, node);
            inputs[c] = new ContainerInput(attributes, vector, d is null ? null : DiagnosisText(d));
        }
        return inputs;
    }

    // A container's diagnosis text depends on its outcomes alone, and a node shows a handful of
    // combinations: each is worked out once, not per container and window.
    private static readonly ConcurrentDictionary<OutcomeSet, string?> Texts = new();
    private const int MaxTexts = 4096;

    private readonly record struct OutcomeSet(string Cpu, string? R1, string? O1, string? R2, string? O2, string? R3, string? O3);

    internal static string? DiagnosisText(ContainerDiagnosis d)
    {
        IReadOnlyList<ResourceDiagnosis> r = d.Resources;
        if (r.Count > 3)
            return Text(d);
        var key = new OutcomeSet(d.Cpu.Outcome,
            r.Count > 0 ? r[0].Resource : null, r.Count > 0 ? r[0].Outcome : null,
            r.Count > 1 ? r[1].Resource : null, r.Count > 1 ? r[1].Outcome : null,
            r.Count > 2 ? r[2].Resource : null, r.Count > 2 ? r[2].Outcome : null);
        if (Texts.TryGetValue(key, out string? text))
            return text;
        if (Texts.Count >= MaxTexts)
            Texts.Clear(); // outcomes are a closed set: never reached on a real node, but bounded all the same
        return Texts[key] = Text(d);
    }

    private static string? Text(ContainerDiagnosis d) =>
        ExportedSeries.DiagnosisText(d.All.ToDictionary(r => r.Resource, r => r.Outcome, StringComparer.Ordinal));
}
