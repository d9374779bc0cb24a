namespace AIOps.Trace;

/// <summary>Host-wide CPU time from /proc/stat, for the idle ratio of a window.</summary>
internal readonly record struct HostCpu(ulong IdleTicks, ulong TotalTicks)
{
    public static HostCpu Read(string hostRoot = "/")
    {
        // A sidecar's /proc is its own namespace's, but /proc/stat is host-wide anyway.
        string path = Path.Combine(hostRoot, "proc/stat");
        if (!File.Exists(path))
            path = "/proc/stat";
        foreach (string line in File.ReadLines(path))
            if (line.StartsWith("cpu ", StringComparison.Ordinal))
                return Parse(line);
        return default;
    }

    /// <summary>Parses the aggregate "cpu  user nice system idle iowait irq softirq steal ..." line.</summary>
    public static HostCpu Parse(string cpuLine)
    {
        string[] f = cpuLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        ulong total = 0, idle = 0;
        // Fields 1..8; guest time (9, 10) is already inside user and nice.
        for (int i = 1; i < f.Length && i <= 8; i++)
        {
            ulong v = ulong.Parse(f[i], System.Globalization.CultureInfo.InvariantCulture);
            total += v;
            if (i is 4 or 5)
                idle += v;
        }
        return new HostCpu(idle, total);
    }

    public static double IdleRatio(HostCpu start, HostCpu end)
    {
        ulong total = end.TotalTicks - start.TotalTicks;
        return total == 0 ? 0 : (double)(end.IdleTicks - start.IdleTicks) / total;
    }
}
