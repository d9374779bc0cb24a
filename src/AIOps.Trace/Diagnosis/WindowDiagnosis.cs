using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Diagnosis;

/// <summary>The verdicts for one container over one window, with the evidence they came from.</summary>
/// <param name="Resources">Memory, disk and network verdicts, where probes were given and the cgroup was still there.</param>
public sealed record ContainerDiagnosis(ContainerSnapshot Container, CpuEvidence CpuEvidence, ResourceDiagnosis Cpu,
    IReadOnlyList<ResourceDiagnosis> Resources)
{
    public ContainerDiagnosis(ContainerSnapshot container, CpuEvidence cpuEvidence, ResourceDiagnosis cpu)
        : this(container, cpuEvidence, cpu, Array.Empty<ResourceDiagnosis>()) { }

    /// <summary>The verdict for "memory", "disk" or "network", if one was made.</summary>
    public ResourceDiagnosis? For(string resource) => Resources.FirstOrDefault(r => r.Resource == resource);

    /// <summary>The evidence behind the verdict of one resource, when it was decided from readings (e.g. <c>EvidenceOf&lt;MemoryEvidence&gt;()</c>).</summary>
    public T? EvidenceOf<T>() where T : class
    {
        foreach (ResourceDiagnosis r in Resources)
            if (r.Evidence is T e)
                return e;
        return null;
    }

    /// <summary>CPU first, then the other resources.</summary>
    public IEnumerable<ResourceDiagnosis> All => Resources.Prepend(Cpu);
}

/// <summary>Diagnoses every container of an engine window: the library entry point the CLI and the sidecar share.</summary>
public static class WindowDiagnosis
{
    /// <param name="window">An engine window (TraceEngine.CollectWindow).</param>
    /// <param name="cgroups">Reads each container's limits (quota, shares, cpuset).</param>
    /// <param name="cpuBusy">Each CPU's busy share over the same window.</param>
    /// <param name="resources">
    /// Memory, disk and network probes, baselined at the window's start
    /// (<see cref="ResourceSampler.Baseline"/>); null diagnoses CPU only.
    /// </param>
    public static IReadOnlyList<ContainerDiagnosis> Diagnose(EngineSnapshot window, CgroupReader cgroups,
        IReadOnlyDictionary<int, double> cpuBusy, CpuThresholds? thresholds = null, ResourceSampler? resources = null)
    {
        var tenants = window.Containers.Where(c => c.CgroupPath != "/").ToList(); // the host itself is the context, not a tenant
        IReadOnlyDictionary<string, IReadOnlyList<ResourceDiagnosis>>? others =
            resources?.Sample(tenants.Select(c => c.CgroupPath), window.WindowSeconds);
        var results = new List<ContainerDiagnosis>(tenants.Count);
        foreach (ContainerSnapshot c in tenants)
        {
            CpuEvidence evidence = CpuEvidenceBuilder.Build(window, c, cgroups.ReadCpuLimits(c.CgroupPath), cpuBusy);
            IReadOnlyList<ResourceDiagnosis> rest = others is not null && others.TryGetValue(c.CgroupPath, out var r) ? r : Array.Empty<ResourceDiagnosis>();
            results.Add(new ContainerDiagnosis(c, evidence, CpuDiagnosis.Diagnose(evidence, thresholds), rest));
        }
        return results;
    }
}
