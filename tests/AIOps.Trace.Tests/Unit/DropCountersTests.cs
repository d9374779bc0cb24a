using System.Text;
using System.Text.Json;
using AIOps.Trace.Bpf;
using AIOps.Trace.Server.Metrics;
using AIOps.Trace.Sources;

namespace AIOps.Trace.Tests.Unit;

/// <summary>Every kernel-side drop or skip reaches the snapshot JSON and /metrics, and lost_events adds up the losses.</summary>
public sealed class DropCountersTests
{
    // Distinct values, so a counter written under another's name shows.
    private static EngineSnapshot Snapshot() => new(null)
    {
        Kernel = new KernelSummary("6.18", true, "perfbuf", "tp_btf", "cgroupfs", ""),
        Host = new HostSummary(2, 0.5),
        WindowSeconds = 1,
        LostEvents = 3 + 5 + 7,
        SkippedEvents = 11 + 13 + 17 + 19 + 23,
        Unreadable = (7, 4096),
        KernelCounters = new KernelStats
        {
            Samples = 100, Batches = 2, LostBatches = 1, LostSamples = 3, LostThrottles = 5,
            NoWakeupStamp = 11, ClockBackwards = 13, StampMapFull = 17, UnknownCgroup = 19, ThrottleMapFull = 23,
        },
    };

    private static readonly Dictionary<string, long> Expected = new()
    {
        ["lost_samples"] = 3, ["lost_throttles"] = 5, ["unreadable_records"] = 7, ["no_wakeup_stamp"] = 11,
        ["clock_backwards"] = 13, ["stamp_map_full"] = 17, ["unknown_cgroup"] = 19, ["throttle_map_full"] = 23,
    };

    [Fact]
    public void The_snapshot_json_has_every_drop_counter_and_the_two_totals()
    {
        using EngineSnapshot s = Snapshot();
        using JsonDocument doc = JsonDocument.Parse(JsonSerializer.Serialize(AIOps.Trace.Contracts.SnapshotDocument.From(s), AIOps.Trace.Contracts.TraceJson.Default.SnapshotDocument));
        JsonElement counters = doc.RootElement.GetProperty("kernel_counters");

        Assert.Equal(Expected.Keys.Order(), DropCounters.Drops.Order());
        foreach ((string name, long value) in Expected)
            Assert.Equal(value, counters.GetProperty(name).GetInt64());
        Assert.Equal(4096, counters.GetProperty("ring_skipped_bytes").GetInt64());
        Assert.Equal(1, counters.GetProperty("lost_batches").GetInt64());
        Assert.Equal(15, doc.RootElement.GetProperty("lost_events").GetInt64());
        Assert.Equal(83, doc.RootElement.GetProperty("skipped_events").GetInt64());
    }

    [Fact]
    public void Lost_events_are_the_undelivered_samples_and_throttles_and_every_unreadable_record()
    {
        KernelStats k = Snapshot().KernelCounters;

        Assert.Equal(3 + 5 + 2 + 4, BpfSource.LostEvents(k, malformed: 2, unreadable: 4));
        Assert.Equal(11UL + 13 + 17 + 19 + 23, k.Skipped);
    }

    [Fact]
    public async Task Metrics_export_every_drop_reason_with_its_cumulative_value()
    {
        var metrics = new SidecarMetrics("n");
        using EngineSnapshot s = Snapshot();
        metrics.SetDrops(s);
        metrics.SetDrops(s); // cumulative: a second window with the same totals adds nothing

        using var text = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(text);
        string exported = Encoding.UTF8.GetString(text.ToArray());
        string[] lines = exported.Split('\n');
        foreach ((string reason, long value) in Expected)
            Assert.Single(lines, l => l.StartsWith("aiops_trace_dropped_events_total{", StringComparison.Ordinal)
                && l.Contains($"reason=\"{reason}\"", StringComparison.Ordinal) && l.EndsWith($"}} {value}", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("aiops_trace_ring_skipped_bytes_total{", StringComparison.Ordinal) && l.EndsWith("} 4096", StringComparison.Ordinal));
    }
}
