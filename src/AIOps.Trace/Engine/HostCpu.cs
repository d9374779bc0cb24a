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

    /// <summary>
    /// Parses the aggregate "cpu  user nice system idle iowait irq softirq steal ..." line. A line
    /// that is not one (a field that is no tick count, sums past 64 bits) reads as no ticks: the
    /// window's idle ratio is then 0, never a crash of the sidecar.
    /// </summary>
    public static HostCpu Parse(string cpuLine)
    {
        string[] f = cpuLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        ulong total = 0, idle = 0;
        // Fields 1..8; guest time (9, 10) is already inside user and nice.
        for (int i = 1; i < f.Length && i <= 8; i++)
        {
            if (!ulong.TryParse(f[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ulong v)
                || total + v < total)
                return default;
            total += v;
            if (i is 4 or 5)
                idle += v;
        }
        return new HostCpu(idle, total);
    }

    public static double IdleRatio(HostCpu start, HostCpu end)
    {
        // A counter that went back (an unreadable line read as zero) gives no ratio.
        if (end.TotalTicks <= start.TotalTicks || end.IdleTicks < start.IdleTicks)
            return 0;
        ulong total = end.TotalTicks - start.TotalTicks;
        return Math.Min(1, (double)(end.IdleTicks - start.IdleTicks) / total);
    }
}
