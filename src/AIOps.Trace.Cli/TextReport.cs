namespace AIOps.Trace.Cli;

/// <summary>A human-readable table of a snapshot, busiest containers first.</summary>
internal static class TextReport
{
    public static void Write(TextWriter o, EngineSnapshot s)
    {
        o.WriteLine($"{DateTime.Now:HH:mm:ss} window {s.WindowSeconds:0.00}s  host idle {s.Host.IdleRatio:P0} of {s.Host.Cpus} CPUs  lost events {s.LostEvents}");
        o.WriteLine($"  {"container",-40} {"runtime",-10} {"waits",8} {"p50 us",9} {"p99 us",9} {"invol",7} {"other",7} {"host",6} {"thr ms",8} {"cpu ms",8}");
        foreach (ContainerSnapshot c in s.Containers.OrderByDescending(c => c.RunQueue.ValueAtQuantile(0.99)).Take(25))
        {
            string name = c.CgroupPath.Length > 40 ? "…" + c.CgroupPath[^39..] : c.CgroupPath;
            o.WriteLine($"  {name,-40} {c.Runtime,-10} {c.RunQueue.Count,8} {c.RunQueue.ValueAtQuantile(0.5) / 1000,9:0.0} {c.RunQueue.ValueAtQuantile(0.99) / 1000,9:0.0} " +
                        $"{c.Involuntary,7} {c.PreemptedByOther,7} {c.PreemptedByHost,6} {c.Throttling.ThrottledNs / 1e6,8:0.0} {Math.Max(0, c.CpuUsageNs) / 1e6,8:0.0}");
        }
    }
}
