using System.Buffers.Text;

namespace AIOps.Trace.Sources;

/// <summary>A task's scheduler counters from <c>/proc/&lt;pid&gt;/task/&lt;tid&gt;/schedstat</c>.</summary>
/// <param name="RunNs">Time spent on a CPU.</param>
/// <param name="RunDelayNs">Time spent waiting on a run queue.</param>
/// <param name="Timeslices">Times the task was switched onto a CPU (each ends one wait).</param>
internal readonly record struct SchedStat(long RunNs, long RunDelayNs, long Timeslices);

/// <summary>
/// Parsers of the procfs files the no-BPF mode samples. They take the raw bytes the kernel
/// wrote (ASCII) and never allocate, so a walk over thousands of tasks stays cheap; each
/// returns false on text it does not understand, and the caller skips that task.
/// </summary>
internal static class ProcfsText
{
    /// <summary>
    /// Clock ticks per second of the tick counts procfs reports (stat's starttime, uptime-based
    /// figures). The kernel exports them in USER_HZ, which is 100 on every mainstream
    /// architecture whatever CONFIG_HZ is (include/asm-generic/param.h).
    /// </summary>
    public const int UserHz = 100;

    /// <summary>"run_ns run_delay_ns timeslices\n" (Documentation/scheduler/sched-stats.rst).</summary>
    public static bool TryParseSchedStat(ReadOnlySpan<byte> text, out SchedStat stat)
    {
        stat = default;
        if (!TryNextLong(ref text, out long run) || !TryNextLong(ref text, out long delay) || !TryNextLong(ref text, out long slices))
            return false;
        stat = new SchedStat(run, delay, slices);
        return true;
    }

    /// <summary>The <c>nonvoluntary_ctxt_switches:</c> line of a status file (the task's nivcsw).</summary>
    public static bool TryParseNonvoluntarySwitches(ReadOnlySpan<byte> status, out long count)
    {
        count = 0;
        ReadOnlySpan<byte> key = "nonvoluntary_ctxt_switches:"u8;
        int at = status.IndexOf(key);
        // The key must start a line: a future field could end in the same words.
        while (at > 0 && status[at - 1] != (byte)'\n')
        {
            int next = status[(at + 1)..].IndexOf(key);
            at = next < 0 ? -1 : at + 1 + next;
        }
        if (at < 0)
            return false;
        ReadOnlySpan<byte> rest = status[(at + key.Length)..];
        return TryNextLong(ref rest, out count);
    }

    /// <summary>
    /// Field 22 of a stat file, starttime: clock ticks (USER_HZ) after boot when the task
    /// started. Fields are counted after the last ')' because comm (field 2) may itself hold
    /// spaces and parentheses (proc(5)).
    /// </summary>
    public static bool TryParseStartTime(ReadOnlySpan<byte> stat, out long startTicks)
    {
        startTicks = 0;
        int close = stat.LastIndexOf((byte)')');
        if (close < 0)
            return false;
        ReadOnlySpan<byte> rest = stat[(close + 1)..];
        // rest begins at field 3 (state); starttime is 19 fields further.
        for (int field = 3; field < 22; field++)
            if (!TrySkipField(ref rest))
                return false;
        return TryNextLong(ref rest, out startTicks);
    }

    /// <summary>Seconds since boot from <c>/proc/uptime</c> ("3542.05 4000.52"), in USER_HZ ticks.</summary>
    public static bool TryParseUptimeTicks(ReadOnlySpan<byte> uptime, out long ticks)
    {
        ticks = 0;
        uptime = uptime.TrimStart((byte)' ');
        int end = uptime.IndexOfAny((byte)' ', (byte)'\n');
        if (end >= 0)
            uptime = uptime[..end];
        if (!Utf8Parser.TryParse(uptime, out decimal seconds, out int used) || used != uptime.Length || seconds < 0
            || seconds >= long.MaxValue / UserHz) // past 2^63 ticks: no uptime, and the multiplication would overflow
            return false;
        ticks = (long)(seconds * UserHz);
        return true;
    }

    /// <summary>
    /// The path of the task's cgroup in the cpu controller's hierarchy, from a
    /// <c>/proc/&lt;pid&gt;/cgroup</c> file: the v1 line whose controller list holds "cpu"
    /// ("4:cpu,cpuacct:/a"), else the v2 line ("0::/a"). The same hierarchy the engine reads
    /// cpu.stat from and the eBPF programs key samples by.
    /// </summary>
    public static bool TryFindCpuCgroup(ReadOnlySpan<byte> cgroupFile, out ReadOnlySpan<byte> path)
    {
        path = default;
        bool found = false;
        foreach (Range r in cgroupFile.Split((byte)'\n'))
        {
            ReadOnlySpan<byte> line = cgroupFile[r];
            int first = line.IndexOf((byte)':');
            int second = first < 0 ? -1 : line[(first + 1)..].IndexOf((byte)':');
            if (second < 0)
                continue;
            second += first + 1;
            ReadOnlySpan<byte> controllers = line[(first + 1)..second];
            ReadOnlySpan<byte> p = line[(second + 1)..];
            if (HasController(controllers, "cpu"u8))
            {
                path = p;
                return true;
            }
            if (controllers.IsEmpty && line[..first].SequenceEqual("0"u8))
            {
                // Keep looking: on a hybrid host a v1 cpu line wins over the unified one.
                path = p;
                found = true;
            }
        }
        return found;
    }

    private static bool HasController(ReadOnlySpan<byte> list, ReadOnlySpan<byte> name)
    {
        foreach (Range r in list.Split((byte)','))
            if (list[r].SequenceEqual(name))
                return true;
        return false;
    }

    private static bool TryNextLong(ref ReadOnlySpan<byte> text, out long value)
    {
        text = text.TrimStart(" \t"u8);
        if (!Utf8Parser.TryParse(text, out value, out int used) || used == 0)
            return false;
        text = text[used..];
        return true;
    }

    private static bool TrySkipField(ref ReadOnlySpan<byte> text)
    {
        text = text.TrimStart((byte)' ');
        int end = text.IndexOf((byte)' ');
        if (end <= 0)
            return false;
        text = text[end..];
        return true;
    }
}
