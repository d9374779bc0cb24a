using AIOps.Trace.Tests.Kernel.Containers;

namespace AIOps.Trace.Tests.Unit.Hardening;

/// <summary>What `serve` keeps after attaching is what the DaemonSet grants, the set its tests load and run with.</summary>
public sealed class CapabilitySetTests
{
    [Fact]
    public void The_kept_set_is_the_daemonsets_and_names_every_bit()
    {
        var kept = ProcessCapabilities.NamesOf(ProcessCapabilities.Tracing).ToHashSet();
        var granted = PodSettings.Of("daemonset.yaml").Capabilities.Select(c => "CAP_" + c).ToHashSet();
        Assert.Equal(granted.Order(), kept.Order());
        Assert.Equal(["CAP_SYS_ADMIN", "CAP_BPF", "CAP_CHECKPOINT_RESTORE", "CAP_63"],
            ProcessCapabilities.NamesOf((1UL << 21) | (1UL << 39) | (1UL << 40) | (1UL << 63)));
    }
}
