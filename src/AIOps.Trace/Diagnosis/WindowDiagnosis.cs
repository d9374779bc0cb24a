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

/// <summary>Diagnoses every container of a window: the library entry point the CLI and the sidecar share.</summary>
public static class WindowDiagnosis
{
    /// <summary>
    /// Decides CPU and every resource the window has readings for, for each tenant of the window
    /// (every container but the host's root cgroup). Reads nothing: everything comes from the window,
    /// so a recorded window gives the same verdicts again. Linear in the window's containers.
    /// </summary>
    /// <param name="window">A window cut by <see cref="TraceSession.Cut"/>, or one built from recorded figures.</param>
    public static IReadOnlyList<ContainerDiagnosis> Diagnose(TraceWindow window, CpuThresholds? thresholds = null) =>
        Diagnose(window, thresholds, out _);

    /// <param name="tenantLookups">Lookups the tenant tree made (for tests that pin the work per window).</param>
    internal static IReadOnlyList<ContainerDiagnosis> Diagnose(TraceWindow window, CpuThresholds? thresholds, out long tenantLookups)
    {
        ArgumentNullException.ThrowIfNull(window);
        EngineSnapshot snapshot = window.Snapshot;
        var tenants = new TenantUsage(snapshot.Containers);
        var results = new List<ContainerDiagnosis>(snapshot.Containers.Count);
        foreach (ContainerSnapshot c in snapshot.Containers)
        {
            if (c.CgroupPath == "/")
                continue; // the host itself is the context, not a tenant
            ContainerReadings readings = window.ReadingsOf(c.CgroupPath);
            CpuEvidence evidence = CpuEvidenceBuilder.Build(snapshot, c, readings.Limits, window.CpuBusy, tenants);
            // Between two probe readings a session hands the same readings to every window (the
            // container's last measured interval): their verdicts are the same too, made once.
            IReadOnlyList<ResourceDiagnosis> rest;
            if (s_decided.TryGetValue(readings, out Decided? decided) && ReferenceEquals(decided.Probes, window.Probes))
                rest = decided.Resources;
            else
            {
                rest = DiagnoseReadings(window, c.CgroupPath, readings, snapshot.WindowSeconds);
                s_decided.AddOrUpdate(readings, new Decided(window.Probes, rest));
            }
            results.Add(new ContainerDiagnosis(c, evidence, CpuDiagnosis.Diagnose(evidence, thresholds), rest));
        }
        tenantLookups = tenants.Lookups;
        return results;
    }

    // Each probe rates its two readings by their own timestamps (the window's length is only the
    // fallback for readings made in one tick), so the verdicts of one readings object do not
    // depend on the window it is shown in. Entries go with their readings.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ContainerReadings, Decided> s_decided = new();

    private sealed record Decided(IReadOnlyList<IResourceProbe> Probes, IReadOnlyList<ResourceDiagnosis> Resources);

    private static List<ResourceDiagnosis> DiagnoseReadings(TraceWindow window, string cgroupPath, ContainerReadings readings, double seconds)
    {
        var rest = new List<ResourceDiagnosis>(window.Probes.Count);
        for (int i = 0; i < window.Probes.Count && i < readings.End.Count; i++)
            if (readings.End[i] is { } end)
                rest.Add(window.Probes[i].Diagnose(cgroupPath, i < readings.Start.Count ? readings.Start[i] : null, end, seconds));
        return rest;
    }
}
