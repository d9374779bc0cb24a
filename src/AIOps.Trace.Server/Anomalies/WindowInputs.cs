using AIOps.Trace.Analysis;
using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Server.Anomalies;

/// <summary>
/// Turns an engine window and its diagnoses into the anomaly pipeline's input: each container's
/// attributes (identity, CPU limits, memory limit, node) and metric vector, with its diagnosis
/// outcome to show beside the verdict. Runs on the engine loop, while the window is still open.
/// </summary>
internal static class WindowInputs
{
    /// <summary>One input per container of the window, keyed by the snapshot (compared by reference).</summary>
    public static Dictionary<ContainerSnapshot, ContainerInput> Build(EngineSnapshot window, IReadOnlyList<ContainerDiagnosis> diagnoses,
        CgroupReader cgroups, CgroupMounts mounts, string node)
    {
        var byContainer = diagnoses.ToDictionary(d => d.Container);
        var inputs = new Dictionary<ContainerSnapshot, ContainerInput>(window.Containers.Count, ReferenceEqualityComparer.Instance);
        foreach (ContainerSnapshot c in window.Containers)
        {
            if (inputs.ContainsKey(c))
                continue;
            byContainer.TryGetValue(c, out ContainerDiagnosis? d);
            MetricVector vector = d is null ? MetricVector.From(c, window.WindowSeconds) : MetricVector.From(d, window.WindowSeconds);
            // The memory probe read the limit for this window; without its evidence, cgroupfs.
            long memoryLimit = d?.EvidenceOf<MemoryEvidence>() is { LimitBytes: > 0 } m ? m.LimitBytes : MemoryLimit(mounts, c.CgroupPath);
            ContainerAttributes attributes = ContainerAttributes.From(c.CgroupPath, c.Identity, cgroups.ReadCpuLimits(c.CgroupPath), memoryLimit, node);
            inputs[c] = new ContainerInput(attributes, vector, d is null ? null : Findings(d));
        }
        return inputs;
    }

    /// <summary>
    /// What the diagnosis found, as shown beside a verdict: "cpu: cap_throttled; memory: limit_reclaim",
    /// or the CPU outcome when no resource is limited.
    /// </summary>
    internal static string Findings(ContainerDiagnosis d)
    {
        string[] found = d.All.Where(r => r.Outcome is not (Outcomes.NotThrottled or Outcomes.NotLimited or Outcomes.Undecidable))
            .Select(r => $"{r.Resource}: {r.Outcome}").ToArray();
        return found.Length > 0 ? string.Join("; ", found) : $"cpu: {d.Cpu.Outcome}";
    }

    /// <summary>The memory hard limit in bytes from cgroupfs (v1 memory.limit_in_bytes, v2 memory.max); -1 when unlimited or unreadable.</summary>
    internal static long MemoryLimit(CgroupMounts mounts, string path)
    {
        try
        {
            return mounts.ForController("memory") switch
            {
                { Version: 1 } v1 => MemoryFiles.ParseV1Limit(ReadText(v1.PathOf(path, "memory.limit_in_bytes"))) ?? -1,
                { Version: 2 } v2 => MemoryFiles.ParseV2Max(ReadText(v2.PathOf(path, "memory.max"))) ?? -1,
                _ => -1,
            };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return -1; // the cgroup went away, or the sidecar may not read it: unknown
        }
    }

    private static string? ReadText(string path) => File.Exists(path) ? File.ReadAllText(path) : null;
}
