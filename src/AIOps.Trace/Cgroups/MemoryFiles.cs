using System.Globalization;

namespace AIOps.Trace.Cgroups;

/// <summary>
/// Parsers for the memory controller's files (v1 and v2) and the host's memory pressure files.
/// Pure functions over the files' text, so they are tested on recorded trees; every value the
/// text does not carry is -1.
/// </summary>
public static class MemoryFiles
{
    // v1 reports "no limit" as PAGE_COUNTER_MAX pages in bytes: 0x7FFFFFFFFFFFF000 with 4 KiB
    // pages (mm/memcontrol-v1.c, mem_cgroup_read_u64). Anything this large is no limit on any
    // page size; no machine has 4 EiB of memory.
    private const long V1UnlimitedFloor = 1L << 62;

    /// <summary>A single number such as memory.usage_in_bytes or memory.current; null when the text is not one.</summary>
    public static long? ParseLong(string? text) =>
        text is not null && long.TryParse(text.AsSpan().Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v : null;

    /// <summary>v1 memory.limit_in_bytes: the limit in bytes, -1 for the "unlimited" value; null when unparsable.</summary>
    public static long? ParseV1Limit(string? text) => ParseLong(text) is long v ? (v >= V1UnlimitedFloor ? -1 : v) : null;

    /// <summary>v2 memory.max: the limit in bytes, -1 for "max"; null when unparsable.</summary>
    public static long? ParseV2Max(string? text) =>
        text is not null && text.AsSpan().Trim().SequenceEqual("max") ? -1 : ParseLong(text);

    /// <summary>
    /// The value of <paramref name="key"/> in a flat keyed file ("key value" lines: v1
    /// memory.oom_control, v2 memory.events, /proc/meminfo with its "kB" unit); -1 when the key
    /// is absent, as <c>oom_kill</c> is from oom_control before Linux 4.13.
    /// </summary>
    public static long KeyedValue(string text, string key)
    {
        foreach (ReadOnlySpan<char> raw in text.AsSpan().EnumerateLines())
        {
            ReadOnlySpan<char> line = raw.Trim();
            if (!line.StartsWith(key, StringComparison.Ordinal) || line.Length == key.Length)
                continue;
            ReadOnlySpan<char> rest = line[key.Length..];
            // "oom_kill 3" must not match the key "oom"; meminfo writes "MemTotal:   24683620 kB".
            if (rest[0] == ':')
                rest = rest[1..];
            else if (rest[0] is not (' ' or '\t'))
                continue;
            rest = rest.Trim();
            int space = rest.IndexOf(' ');
            if (space >= 0)
                rest = rest[..space];
            return long.TryParse(rest, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v : -1;
        }
        return -1;
    }

    /// <summary>
    /// The "some" line of a PSI file (/proc/pressure/memory, Documentation/accounting/psi.rst):
    /// avg10 in percent and the cumulative stall time in µs; (-1, -1) when there is no such line.
    /// </summary>
    public static (double Avg10, long TotalUs) ParsePsiSome(string text)
    {
        foreach (ReadOnlySpan<char> raw in text.AsSpan().EnumerateLines())
        {
            ReadOnlySpan<char> line = raw.Trim();
            if (!line.StartsWith("some ", StringComparison.Ordinal))
                continue;
            double avg10 = -1;
            long total = -1;
            foreach (Range r in line.Split(' '))
            {
                ReadOnlySpan<char> field = line[r];
                if (field.StartsWith("avg10=", StringComparison.Ordinal)
                    && double.TryParse(field[6..], NumberStyles.Float, CultureInfo.InvariantCulture, out double a))
                    avg10 = a;
                else if (field.StartsWith("total=", StringComparison.Ordinal)
                         && long.TryParse(field[6..], NumberStyles.Integer, CultureInfo.InvariantCulture, out long t))
                    total = t;
            }
            return (avg10, total);
        }
        return (-1, -1);
    }

    /// <summary>MemAvailable / MemTotal from /proc/meminfo; -1 when either is missing (MemAvailable is Linux 3.14+).</summary>
    public static double AvailableRatio(string meminfo)
    {
        long total = KeyedValue(meminfo, "MemTotal");
        long available = KeyedValue(meminfo, "MemAvailable");
        return total > 0 && available >= 0 ? (double)available / total : -1;
    }

    /// <summary>
    /// /proc/vmstat pgscan_kswapd + pgscan_direct: pages scanned by the host's reclaim. mm/vmscan.c
    /// counts these only when the reclaim is not a cgroup's (<c>if (!cgroup_reclaim(sc))</c>),
    /// so a cgroup reclaiming at its own limit leaves them still. -1 when either is missing.
    /// </summary>
    public static long HostReclaimScanned(string vmstat)
    {
        long kswapd = KeyedValue(vmstat, "pgscan_kswapd");
        long direct = KeyedValue(vmstat, "pgscan_direct");
        return kswapd >= 0 && direct >= 0 ? kswapd + direct : -1;
    }
}
