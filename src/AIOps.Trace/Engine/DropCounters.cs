using AIOps.Trace.Bpf;

namespace AIOps.Trace;

/// <summary>
/// The engine's delivery and skip counters by name, cumulative since load: one list for the
/// snapshot JSON's kernel_counters and the sidecar's /metrics, so neither can leave one out.
/// </summary>
public static class DropCounters
{
    /// <summary>Counters whose names say an event was lost (not delivered) or skipped (delivered, not measured).</summary>
    public static readonly string[] Drops =
        ["lost_samples", "lost_throttles", "unreadable_records", "no_wakeup_stamp", "clock_backwards", "stamp_map_full", "unknown_cgroup", "throttle_map_full"];

    /// <summary>Every counter with its cumulative value: what was delivered, then each drop or skip, then the bytes skipped unread.</summary>
    public static IEnumerable<(string Name, long Value)> Of(EngineSnapshot s)
    {
        KernelStats k = s.KernelCounters;
        yield return ("samples", (long)k.Samples);
        yield return ("batches", (long)k.Batches);
        yield return ("throttles", (long)k.Throttles);
        yield return ("lost_batches", (long)k.LostBatches);
        foreach (string name in Drops)
            yield return (name, Value(s, name));
        yield return ("ring_skipped_bytes", s.Unreadable.Bytes);
    }

    /// <summary>The cumulative value of one of <see cref="Drops"/>.</summary>
    public static long Value(EngineSnapshot s, string name)
    {
        KernelStats k = s.KernelCounters;
        return name switch
        {
            "lost_samples" => (long)k.LostSamples,
            "lost_throttles" => (long)k.LostThrottles,
            "unreadable_records" => s.Unreadable.Records,
            "no_wakeup_stamp" => (long)k.NoWakeupStamp,
            "clock_backwards" => (long)k.ClockBackwards,
            "stamp_map_full" => (long)k.StampMapFull,
            "unknown_cgroup" => (long)k.UnknownCgroup,
            "throttle_map_full" => (long)k.ThrottleMapFull,
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a drop counter"),
        };
    }
}
