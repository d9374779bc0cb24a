namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// Kernel-facing tests run one at a time: they load BPF programs, pin workloads to CPUs and
/// compare against the kernel's own counters, which a second test running beside would disturb.
/// They need root and a BTF kernel; on our machines and in CI both are there, so they never skip.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KernelCollection
{
    public const string Name = "kernel";
}
