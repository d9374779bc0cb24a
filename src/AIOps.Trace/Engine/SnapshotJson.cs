using System.Buffers;
using System.Text.Json;
using AIOps.Trace.Aggregation;

namespace AIOps.Trace;

/// <summary>
/// Writes an <see cref="EngineSnapshot"/> as the JSON document of `aiops-trace snapshot --json`
/// (snake_case, latencies in microseconds). Hand-driven Utf8JsonWriter: no reflection, so it
/// works under NativeAOT.
/// </summary>
public static class SnapshotJson
{
    public static void Write(Utf8JsonWriter w, EngineSnapshot s)
    {
        Span<Log2Bucket> buckets = stackalloc Log2Bucket[LogLinearHistogram.MaxLog2MicrosecondBuckets];
        w.WriteStartObject();
        w.WriteStartObject("kernel");
        w.WriteString("release", s.Kernel.Release);
        w.WriteBoolean("btf", s.Kernel.Btf);
        if (s.Kernel.BtfFile is not null)
            w.WriteString("btf_file", s.Kernel.BtfFile);
        w.WriteString("ring", s.Kernel.Ring);
        w.WriteString("attach", s.Kernel.Attach);
        w.WriteString("wait_stamps", s.Kernel.WaitStamps);
        w.WriteString("throttle_source", s.Kernel.ThrottleSource);
        w.WriteString("throttle_hook", s.Kernel.ThrottleHook);
        w.WriteString("throttle_note", s.Kernel.ThrottleNote);
        w.WriteEndObject();
        w.WriteStartObject("host");
        w.WriteNumber("cpus", s.Host.Cpus);
        w.WriteNumber("idle_ratio", Math.Round(s.Host.IdleRatio, 4));
        w.WriteEndObject();
        w.WriteNumber("window_s", Math.Round(s.WindowSeconds, 3));
        w.WriteNumber("lost_events", s.LostEvents);
        w.WriteNumber("skipped_events", s.SkippedEvents);
        w.WriteStartObject("kernel_counters");
        foreach ((string name, long value) in DropCounters.Of(s))
            w.WriteNumber(name, value);
        w.WriteEndObject();
        w.WriteStartArray("containers");
        foreach (ContainerSnapshot c in s.Containers)
            WriteContainer(w, c, buckets);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static string ToJson(EngineSnapshot s, bool indented = true)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented }))
            Write(w, s);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteContainer(Utf8JsonWriter w, ContainerSnapshot c, Span<Log2Bucket> buckets)
    {
        w.WriteStartObject();
        w.WriteString("cgroup_path", c.CgroupPath);
        w.WriteNumber("cgroup_id", c.CgroupId);
        w.WriteString("name", c.Name);
        w.WriteString("runtime", c.Runtime);
        WriteIdentity(w, c.Identity);

        LogLinearHistogram h = c.RunQueue;
        w.WriteStartObject("runq_latency_us");
        w.WriteNumber("count", h.Count);
        w.WriteNumber("sum", Us(h.Sum));
        w.WriteNumber("p50", Us(h.ValueAtQuantile(0.50)));
        w.WriteNumber("p90", Us(h.ValueAtQuantile(0.90)));
        w.WriteNumber("p99", Us(h.ValueAtQuantile(0.99)));
        w.WriteNumber("p999", Us(h.ValueAtQuantile(0.999)));
        w.WriteNumber("max", Us(h.Max));
        w.WriteStartArray("buckets");
        int n = h.CopyLog2MicrosecondBuckets(buckets);
        for (int i = 0; i < n; i++)
        {
            w.WriteStartObject();
            w.WriteNumber("le", buckets[i].LeMicroseconds);
            w.WriteNumber("count", buckets[i].CumulativeCount);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();

        w.WriteStartObject("preemptions");
        w.WriteNumber("involuntary", c.Involuntary);
        w.WriteNumber("by_same_cgroup", c.PreemptedBySame);
        w.WriteNumber("by_other_cgroup", c.PreemptedByOther);
        w.WriteNumber("by_host", c.PreemptedByHost);
        w.WriteNumber("by_unknown", c.PreemptedByUnknown);
        w.WriteStartArray("top_preemptors");
        foreach (Preemptor p in c.TopPreemptors)
        {
            w.WriteStartObject();
            w.WriteString("cgroup_path", p.CgroupPath);
            w.WriteNumber("count", p.Count);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();

        w.WriteStartObject("throttling");
        w.WriteNumber("periods", c.Throttling.Periods);
        w.WriteNumber("throttled_periods", c.Throttling.ThrottledPeriods);
        w.WriteNumber("throttled_ns", c.Throttling.ThrottledNs);
        w.WriteNumber("events", c.Throttling.Events);
        w.WriteNumber("ebpf_throttled_ns", c.Throttling.EbpfThrottledNs);
        w.WriteString("source", c.Throttling.Source);
        w.WriteEndObject();

        w.WriteNumber("cpu_usage_ns", c.CpuUsageNs);
        if (c.Ended)
            w.WriteBoolean("ended", true);
        w.WriteEndObject();
    }

    // Who runs in the cgroup, as far as its path and the node's disk tell; null when unknown.
    private static void WriteIdentity(Utf8JsonWriter w, Cgroups.ContainerIdentity? id)
    {
        w.WriteString("container_id", id?.ContainerId);
        if (id?.PodUid is null)
        {
            w.WriteNull("pod");
        }
        else
        {
            w.WriteStartObject("pod");
            w.WriteString("uid", id.PodUid);
            w.WriteString("name", id.PodName);
            w.WriteString("namespace", id.Namespace);
            w.WriteString("qos", id.QosClass);
            w.WriteEndObject();
        }
        w.WriteString("container_name", id?.ContainerName);
        w.WriteString("image", id?.Image);
    }

    private static double Us(double ns) => Math.Round(ns / 1000.0, 3);
}
