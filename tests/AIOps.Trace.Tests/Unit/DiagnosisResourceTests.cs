using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Tests.Unit;

/// <summary>Every branch of the memory, disk and network trees, including missing signals.</summary>
public sealed class DiagnosisResourceTests
{
    private static readonly MemoryEvidence QuietMemory = new()
    {
        OomKills = 0, UsageBytes = 100 << 20, LimitBytes = 512 << 20, LimitHits = 0, HighEvents = 0, HostPsiSomePercent = 0.2, HostAvailableRatio = 0.6,
    };

    [Theory]
    [MemberData(nameof(MemoryCases))]
    public void Memory_tree(string name, MemoryEvidence e, string outcome)
    {
        ResourceDiagnosis d = MemoryDiagnosis.Diagnose(e);
        Assert.True(outcome == d.Outcome, $"{name}: {d.Outcome} ({d.Summary})");
        if (outcome == Outcomes.Undecidable)
            Assert.False(string.IsNullOrEmpty(d.UndecidableReason));
        else
            Assert.True(d.Path.Count > 0);
    }

    public static TheoryData<string, MemoryEvidence, string> MemoryCases => new()
    {
        { "oom", QuietMemory with { OomKills = 2 }, Outcomes.OomAtLimit },
        { "reclaim", QuietMemory with { UsageBytes = 500 << 20, LimitHits = 40 }, Outcomes.LimitReclaim },
        { "at limit, no counter", QuietMemory with { UsageBytes = 500 << 20, LimitHits = -1 }, Outcomes.Undecidable },
        { "at limit, not hit", QuietMemory with { UsageBytes = 500 << 20 }, Outcomes.NotLimited },
        { "high", QuietMemory with { HighEvents = 7 }, Outcomes.HighThrottled },
        { "v1 has no high", QuietMemory with { HighEvents = -1 }, Outcomes.NotLimited },
        { "psi", QuietMemory with { HostPsiSomePercent = 35 }, Outcomes.HostPressure },
        { "psi while the host reclaims", QuietMemory with { HostPsiSomePercent = 35, HostReclaimPages = 4096 }, Outcomes.HostPressure },
        { "psi from cgroup limits only (no host reclaim)", QuietMemory with { HostPsiSomePercent = 35, HostReclaimPages = 0 }, Outcomes.NotLimited },
        { "low psi, host reclaims", QuietMemory with { HostPsiSomePercent = 2, HostReclaimPages = 4096 }, Outcomes.NotLimited },
        { "no psi, low available", QuietMemory with { HostPsiSomePercent = -1, HostAvailableRatio = 0.02 }, Outcomes.HostPressure },
        { "no psi, no meminfo", QuietMemory with { HostPsiSomePercent = -1, HostAvailableRatio = -1 }, Outcomes.Undecidable },
        { "no oom counter", QuietMemory with { OomKills = -1 }, Outcomes.Undecidable },
        { "unlimited", QuietMemory with { LimitBytes = -1 }, Outcomes.NotLimited },
    };

    private static readonly DiskEvidence QuietDisk = new()
    {
        Device = "loop0", BytesPerSecond = 1 << 20, IopsPerSecond = 50, ThrottleKnown = true, DeviceUtilization = 0.2, ContainerShareOfDevice = 0.5,
    };

    [Theory]
    [MemberData(nameof(DiskCases))]
    public void Disk_tree(string name, DiskEvidence e, string outcome)
    {
        ResourceDiagnosis d = DiskDiagnosis.Diagnose(e);
        Assert.True(outcome == d.Outcome, $"{name}: {d.Outcome} ({d.Summary})");
    }

    public static TheoryData<string, DiskEvidence, string> DiskCases => new()
    {
        { "bps limit", QuietDisk with { LimitBytesPerSecond = 1.05 * (1 << 20) }, Outcomes.ThrottleLimited },
        { "iops limit", QuietDisk with { LimitIopsPerSecond = 50 }, Outcomes.ThrottleLimited },
        { "limit far", QuietDisk with { LimitBytesPerSecond = 100 << 20 }, Outcomes.NotLimited },
        { "no throttle files", QuietDisk with { ThrottleKnown = false }, Outcomes.Undecidable },
        { "contention", QuietDisk with { DeviceUtilization = 0.97, ContainerShareOfDevice = 0.3 }, Outcomes.Contention },
        { "saturated alone", QuietDisk with { DeviceUtilization = 0.97, ContainerShareOfDevice = 0.95 }, Outcomes.DeviceSaturated },
        { "busy, share unknown", QuietDisk with { DeviceUtilization = 0.97, ContainerShareOfDevice = -1 }, Outcomes.Undecidable },
        { "no diskstats", QuietDisk with { DeviceUtilization = -1 }, Outcomes.Undecidable },
        { "no I/O", QuietDisk with { BytesPerSecond = 0, IopsPerSecond = 0 }, Outcomes.NotLimited },
        { "no I/O, uncounted device idle", QuietDisk with { IopsPerSecond = 0, UncountedDevice = "vda", UncountedDeviceUtilization = 0.3 }, Outcomes.NotLimited },
        { "no I/O counted, uncounted device busy", QuietDisk with { IopsPerSecond = 0, UncountedDevice = "vda", UncountedDeviceUtilization = 0.95 }, Outcomes.Undecidable },
        { "no I/O counted, uncounted device busy, tasks did I/O", QuietDisk with { IopsPerSecond = 0, UncountedDevice = "vda", UncountedDeviceUtilization = 0.95, TaskIoBytesPerSecond = 1 << 20 }, Outcomes.Undecidable },
        { "no I/O counted, uncounted device busy, tasks paged in a little", QuietDisk with { IopsPerSecond = 0, UncountedDevice = "vda", UncountedDeviceUtilization = 0.95, TaskIoBytesPerSecond = 1364 }, Outcomes.NotLimited },
        { "no I/O counted, uncounted device busy, tasks did none", QuietDisk with { IopsPerSecond = 0, UncountedDevice = "vda", UncountedDeviceUtilization = 0.95, TaskIoBytesPerSecond = 0 }, Outcomes.NotLimited },
        { "no I/O, no throttle files", QuietDisk with { IopsPerSecond = 0, ThrottleKnown = false }, Outcomes.Undecidable },
    };

    private static readonly NetworkEvidence QuietNet = new()
    {
        Interface = "veth0", QdiscDrops = 0, QdiscOverlimits = 0, TxBytesPerSecond = 1e5, RetransSegs = 0, OutSegs = 5000,
    };

    [Theory]
    [MemberData(nameof(NetworkCases))]
    public void Network_tree(string name, NetworkEvidence e, string outcome)
    {
        ResourceDiagnosis d = NetworkDiagnosis.Diagnose(e);
        Assert.True(outcome == d.Outcome, $"{name}: {d.Outcome} ({d.Summary})");
    }

    public static TheoryData<string, NetworkEvidence, string> NetworkCases => new()
    {
        { "drops", QuietNet with { QdiscDrops = 12 }, Outcomes.BandwidthLimited },
        { "overlimits", QuietNet with { QdiscOverlimits = 3 }, Outcomes.BandwidthLimited },
        { "at rate limit", QuietNet with { LimitBytesPerSecond = 1.05e5 }, Outcomes.BandwidthLimited },
        { "retransmits", QuietNet with { RetransSegs = 200, OutSegs = 5000 }, Outcomes.Contention },
        { "a few retransmits", QuietNet with { RetransSegs = 3, OutSegs = 100 }, Outcomes.NotLimited },
        { "quiet", QuietNet, Outcomes.NotLimited },
        { "no tcp counters", QuietNet with { RetransSegs = -1 }, Outcomes.Undecidable },
        { "nothing readable", QuietNet with { QdiscDrops = -1, QdiscOverlimits = -1, RetransSegs = -1 }, Outcomes.Undecidable },
    };
}
