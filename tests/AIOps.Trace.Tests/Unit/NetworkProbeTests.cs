using System.Diagnostics;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Diagnosis;
using AIOps.Trace.Network;

namespace AIOps.Trace.Tests.Unit;

/// <summary>The network probe's verdict from two readings: which interface, which deltas, and when it cannot decide.</summary>
public sealed class NetworkProbeTests
{
    private static readonly NetworkProbe Probe = new(new ResourceProbeContext(CgroupMounts.Parse(""), "/"));

    private static NetworkReading Reading(double atSeconds, ulong ethTx, ulong vethTx, uint drops = 0, uint overlimits = 0,
        ulong outSegs = 1000, ulong retrans = 0, string kind = "noqueue", double limit = -1, string ns = "net:[4026532300]") =>
        new((long)(atSeconds * Stopwatch.Frequency), ns,
            [new InterfaceCounters("lo", 0, 99_000_000, 0, 0), new InterfaceCounters("eth0", 0, ethTx, 0, 0), new InterfaceCounters("veth1", 0, vethTx, 0, 0)],
            new TcpCounters(outSegs, retrans),
            new Dictionary<string, InterfaceQdisc>
            {
                ["eth0"] = new(kind, 0x80010000, drops, overlimits, limit),
                ["veth1"] = new("noqueue", 0, 5, 5, -1),
            });

    [Fact]
    public void The_busiest_interface_decides_and_lo_is_ignored()
    {
        NetworkEvidence e = NetworkProbe.Evidence(Reading(0, 1_000, 1_000), Reading(2, 2_001_000, 101_000, drops: 7, overlimits: 40), 2);

        Assert.Equal("eth0", e.Interface);
        Assert.Equal(1_000_000, e.TxBytesPerSecond);
        Assert.Equal(7, e.QdiscDrops);
        Assert.Equal(40, e.QdiscOverlimits);
    }

    [Fact]
    public void Qdisc_counters_wrap_at_32_bits()
    {
        NetworkEvidence e = NetworkProbe.Evidence(Reading(0, 0, 0, drops: uint.MaxValue - 1, overlimits: uint.MaxValue),
            Reading(1, 10_000, 0, drops: 3, overlimits: 0), 1);

        Assert.Equal(5, e.QdiscDrops);
        Assert.Equal(1, e.QdiscOverlimits);
    }

    [Fact]
    public void A_qdisc_replaced_in_the_window_counts_from_zero()
    {
        NetworkEvidence e = NetworkProbe.Evidence(Reading(0, 0, 0, drops: 500), Reading(1, 10_000, 0, drops: 4, kind: "tbf", limit: 125_000), 1);

        Assert.Equal(4, e.QdiscDrops);
        Assert.Equal(125_000, e.LimitBytesPerSecond);
    }

    [Fact]
    public void Tcp_deltas_and_missing_counters()
    {
        NetworkEvidence e = NetworkProbe.Evidence(Reading(0, 0, 0, outSegs: 100, retrans: 1), Reading(1, 10, 0, outSegs: 5100, retrans: 151), 1);
        Assert.Equal((150, 5000), (e.RetransSegs, e.OutSegs));

        NetworkEvidence unknown = NetworkProbe.Evidence(Reading(0, 0, 0) with { Tcp = null, Qdiscs = null }, Reading(1, 10, 0), 1);
        Assert.Equal((-1L, -1L, -1L, -1L), (unknown.RetransSegs, unknown.OutSegs, unknown.QdiscDrops, unknown.QdiscOverlimits));
    }

    [Fact]
    public void Verdicts_from_readings()
    {
        Assert.Equal(Outcomes.BandwidthLimited,
            Probe.Diagnose("/c", Reading(0, 0, 0), Reading(2, 2_000_000, 0, overlimits: 300, kind: "tbf", limit: 1_000_000), 2).Outcome);
        Assert.Equal(Outcomes.Contention,
            Probe.Diagnose("/c", Reading(0, 0, 0), Reading(2, 2_000_000, 0, outSegs: 6000, retrans: 200), 2).Outcome);
        Assert.Equal(Outcomes.NotLimited,
            Probe.Diagnose("/c", Reading(0, 0, 0), Reading(2, 20_000, 0, outSegs: 1100), 2).Outcome);
    }

    [Fact]
    public void Undecidable_when_the_namespace_is_the_hosts_changed_or_has_no_start()
    {
        var host = new NetworkReading(0, "net:[4026531840]", [], null, null, Problem: "the container shares the host's network namespace: ...");
        ResourceDiagnosis shared = Probe.Diagnose("/c", host, host, 1);
        Assert.Equal(Outcomes.Undecidable, shared.Outcome);
        Assert.StartsWith("the container shares the host's network namespace", shared.UndecidableReason);

        ResourceDiagnosis changed = Probe.Diagnose("/c", Reading(0, 0, 0), Reading(1, 0, 0, ns: "net:[4026532999]"), 1);
        Assert.Equal(Outcomes.Undecidable, changed.Outcome);
        Assert.Contains("changed", changed.UndecidableReason);

        ResourceDiagnosis appeared = Probe.Diagnose("/c", null, Reading(1, 0, 0), 1);
        Assert.Equal(Outcomes.Undecidable, appeared.Outcome);
        Assert.Contains("appeared", appeared.UndecidableReason);
    }

    [Fact]
    public void A_cgroup_that_does_not_exist_reads_as_none()
    {
        var probe = new NetworkProbe(new ResourceProbeContext(
            CgroupMounts.Parse("30 25 0:26 / /nonexistent/cpu rw - cgroup cgroup rw,cpu", "/", _ => null), "/"));

        Assert.Null(probe.Read("/aiops-test-gone"));
    }
}
