using AIOps.Trace.Aggregation;
using AIOps.Trace.Bpf;

namespace AIOps.Trace.Sources;

/// <summary>Picks the engine's source from <see cref="EngineOptions.Mode"/> and what the kernel allows.</summary>
internal static class SourceFactory
{
    public static ISchedSource Create(EngineOptions options, ContainerTable table, CgroupSampler cgroups)
    {
        switch (options.Mode)
        {
            case EngineMode.Ebpf:
                return new BpfSource(SchedTracer.Load(options.Tracer), table);
            case EngineMode.Procfs:
                return CreateProcfs(options, table, cgroups, "procfs mode forced");
            default:
                try
                {
                    return new BpfSource(SchedTracer.Load(options.Tracer), table);
                }
                catch (Exception e) when (TierPolicy.FallsBackToProcfs(e))
                {
                    // No privileges, no BPF syscall, no shim or no window flush: the lower-resolution
                    // procfs sampler still gives every figure, and the snapshot says so.
                    return CreateProcfs(options, table, cgroups, "eBPF unavailable: " + e.Message);
                }
        }
    }

    private static ISchedSource CreateProcfs(EngineOptions options, ContainerTable table, CgroupSampler cgroups, string why) =>
        new ProcfsSource(options, table, cgroups.Index, why);
}
