using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Diagnosis;

/// <summary>Turns an engine window into the evidence the CPU tree asks for.</summary>
public static class CpuEvidenceBuilder
{
    /// <param name="window">The window the container is part of.</param>
    /// <param name="container">The container to diagnose.</param>
    /// <param name="limits">Its quota, shares or weight and cpuset (CgroupReader.ReadCpuLimits).</param>
    /// <param name="cpuBusy">Each CPU's busy share over the same window (PerCpuTime.BusySince).</param>
    public static CpuEvidence Build(EngineSnapshot window, ContainerSnapshot container, CpuLimits limits, IReadOnlyDictionary<int, double> cpuBusy) =>
        Build(window, container, limits, cpuBusy, new TenantUsage(window.Containers));

    /// <param name="tenants">The window's tenant tree, built once for all its containers.</param>
    internal static CpuEvidence Build(EngineSnapshot window, ContainerSnapshot container, CpuLimits limits, IReadOnlyDictionary<int, double> cpuBusy,
        TenantUsage tenants)
    {
        double windowNs = Math.Max(window.WindowSeconds, 1e-9) * 1e9;
        IReadOnlyList<int> cpuset = CpuList.ParseOrEmpty(limits.CpusetCpus);
        return new CpuEvidence
        {
            CgroupPath = container.CgroupPath,
            WindowSeconds = window.WindowSeconds,
            ThrottledNs = container.Throttling.Source == "cgroupfs" || container.Throttling.Events > 0 ? container.Throttling.ThrottledNs : -1,
            ThrottledPeriods = container.Throttling.ThrottledPeriods,
            Periods = container.Throttling.Periods,
            QuotaUs = limits.QuotaUs,
            PeriodUs = limits.PeriodUs,
            Shares = limits.Shares,
            Weight = limits.Weight,
            Involuntary = container.Involuntary,
            PreemptedByHost = container.PreemptedByHost,
            TopPreemptors = container.TopPreemptors
                .Select(p => new NoisyNeighbour(p.CgroupPath, p.Count, Cores(tenants.Find(p.CgroupPath)?.CpuUsageNs ?? 0, windowNs)))
                .ToArray(),
            CpuUsageCores = Cores(container.CpuUsageNs, windowNs),
            HostCpus = window.Host.Cpus,
            HostIdleCpus = window.Host.IdleRatio * window.Host.Cpus,
            CpusetCpus = cpuset.Count == 0 ? null : cpuset,
            CpuBusy = cpuBusy,
            OtherTenantsCores = Cores(tenants.OthersNs(container.CgroupPath), windowNs),
            RunQueueWaitNs = (long)container.RunQueue.Sum,
            RunQueueP50Us = container.RunQueue.ValueAtQuantile(0.50) / 1000,
            RunQueueP99Us = container.RunQueue.ValueAtQuantile(0.99) / 1000,
        };
    }

    /// <summary>
    /// CPU used by the other tenants: every container that is neither this one, nor one of its
    /// ancestors or descendants, nor the root; only the deepest of nested ones, since a parent's
    /// usage already holds its children's.
    /// </summary>
    internal static long OtherTenantsUsageNs(EngineSnapshot window, string path) => new TenantUsage(window.Containers).OthersNs(path);

    private static double Cores(long usageNs, double windowNs) => usageNs <= 0 ? 0 : usageNs / windowNs;
}
