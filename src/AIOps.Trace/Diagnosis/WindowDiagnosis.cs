using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Diagnosis;

/// <summary>The verdicts for one container over one window, with the evidence they came from.</summary>
public sealed record ContainerDiagnosis(ContainerSnapshot Container, CpuEvidence CpuEvidence, ResourceDiagnosis Cpu);

/// <summary>Diagnoses every container of an engine window: the library entry point the CLI and the sidecar share.</summary>
public static class WindowDiagnosis
{
    /// <param name="window">An engine window (TraceEngine.CollectWindow).</param>
    /// <param name="cgroups">Reads each container's limits (quota, shares, cpuset).</param>
    /// <param name="cpuBusy">Each CPU's busy share over the same window.</param>
    public static IReadOnlyList<ContainerDiagnosis> Diagnose(EngineSnapshot window, CgroupReader cgroups,
        IReadOnlyDictionary<int, double> cpuBusy, CpuThresholds? thresholds = null)
    {
        var results = new List<ContainerDiagnosis>(window.Containers.Count);
        foreach (ContainerSnapshot c in window.Containers)
        {
            if (c.CgroupPath == "/")
                continue; // the host itself is the context, not a tenant
            CpuEvidence evidence = CpuEvidenceBuilder.Build(window, c, cgroups.ReadCpuLimits(c.CgroupPath), cpuBusy);
            results.Add(new ContainerDiagnosis(c, evidence, CpuDiagnosis.Diagnose(evidence, thresholds)));
        }
        return results;
    }
}
