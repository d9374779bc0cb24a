namespace AIOps.Trace.Cgroups;

/// <summary>
/// A cgroup's <c>cpu.stat</c>: CFS bandwidth periods and throttling, plus CPU usage on v2.
/// Counters are cumulative since the cgroup was created; use <see cref="Delta"/> for a window.
/// </summary>
/// <param name="Periods">Enforcement periods that have elapsed with runnable tasks (nr_periods).</param>
/// <param name="ThrottledPeriods">Periods in which the quota ran out (nr_throttled).</param>
/// <param name="ThrottledNs">Total time tasks sat throttled, in ns.</param>
/// <param name="UsageNs">CPU time used in ns, or -1 when the file lacks it (v1 keeps it in cpuacct.usage).</param>
/// <param name="UserNs">User-mode CPU time in ns (v2 only, else 0).</param>
/// <param name="SystemNs">Kernel-mode CPU time in ns (v2 only, else 0).</param>
public readonly record struct CpuStat(long Periods, long ThrottledPeriods, long ThrottledNs, long UsageNs, long UserNs, long SystemNs)
{
    /// <summary>
    /// Parses v1 (<c>throttled_time</c> in ns) or v2 (<c>*_usec</c> in µs) cpu.stat text.
    /// Unknown keys are ignored (kernels keep adding some: nr_bursts, burst_time, nice_usec,
    /// core_sched.force_idle_usec); missing keys read as 0, a missing usage as -1.
    /// </summary>
    public static CpuStat Parse(ReadOnlySpan<char> text)
    {
        long periods = 0, throttled = 0, throttledNs = 0, usageNs = -1, userNs = 0, systemNs = 0;
        foreach (ReadOnlySpan<char> rawLine in text.EnumerateLines())
        {
            ReadOnlySpan<char> line = rawLine.Trim();
            int space = line.IndexOf(' ');
            if (space <= 0 || !long.TryParse(line[(space + 1)..].Trim(), out long value))
                continue;
            switch (line[..space])
            {
                case "nr_periods": periods = value; break;
                case "nr_throttled": throttled = value; break;
                case "throttled_time": throttledNs = value; break;
                case "throttled_usec": throttledNs = value * 1000; break;
                case "usage_usec": usageNs = value * 1000; break;
                case "user_usec": userNs = value * 1000; break;
                case "system_usec": systemNs = value * 1000; break;
            }
        }

        return new CpuStat(periods, throttled, throttledNs, usageNs, userNs, systemNs);
    }

    /// <summary>Counter increase since <paramref name="earlier"/>; usage stays -1 if either side lacks it.</summary>
    public CpuStat Delta(CpuStat earlier) => new(
        Periods - earlier.Periods,
        ThrottledPeriods - earlier.ThrottledPeriods,
        ThrottledNs - earlier.ThrottledNs,
        UsageNs < 0 || earlier.UsageNs < 0 ? -1 : UsageNs - earlier.UsageNs,
        UserNs - earlier.UserNs,
        SystemNs - earlier.SystemNs);

    /// <summary>Same as <see cref="Delta"/>.</summary>
    public static CpuStat operator -(CpuStat later, CpuStat earlier) => later.Delta(earlier);
}
