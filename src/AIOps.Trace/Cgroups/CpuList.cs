using System.Globalization;

namespace AIOps.Trace.Cgroups;

/// <summary>The kernel's CPU list format ("0-3,8,10-11"), as in cpuset.cpus and /sys/devices/system/cpu/online.</summary>
public static class CpuList
{
    /// <summary>Parses a CPU list; an empty or blank text is an empty list.</summary>
    /// <exception cref="FormatException">The text is not a CPU list; the message quotes it.</exception>
    public static IReadOnlyList<int> Parse(string? text)
    {
        var cpus = new SortedSet<int>();
        if (string.IsNullOrWhiteSpace(text))
            return [];
        foreach (string part in text.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int dash = part.IndexOf('-');
            if (dash < 0)
            {
                cpus.Add(ParseCpu(part, text));
                continue;
            }
            int first = ParseCpu(part[..dash], text), last = ParseCpu(part[(dash + 1)..], text);
            if (last < first)
                throw new FormatException($"'{text}' is not a CPU list: range {part} runs backwards");
            for (int cpu = first; cpu <= last; cpu++)
                cpus.Add(cpu);
        }
        return cpus.ToArray();
    }

    /// <summary>Parses a CPU list read from a cgroup file: one that is not a list (a file another writer left half-written) is empty, i.e. unknown.</summary>
    /// <remarks>
    /// Every window asks again for every container's cpuset, and a node has a handful of distinct
    /// ones: the answers to the last few dozen texts are kept (read-only, shared).
    /// </remarks>
    public static IReadOnlyList<int> ParseOrEmpty(string? text)
    {
        if (text is null)
            return [];
        if (s_parsed.TryGetValue(text, out IReadOnlyList<int>? known))
            return known;
        IReadOnlyList<int> cpus;
        try
        {
            cpus = Array.AsReadOnly(Parse(text).ToArray());
        }
        catch (FormatException)
        {
            cpus = [];
        }
        if (s_parsed.Count >= ParsedKept)
            s_parsed.Clear();
        s_parsed[text] = cpus;
        return cpus;
    }

    private const int ParsedKept = 64;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, IReadOnlyList<int>> s_parsed = new(StringComparer.Ordinal);

    private static int ParseCpu(string s, string text) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int cpu) && cpu < 1 << 16
            ? cpu
            : throw new FormatException($"'{text}' is not a CPU list: expected numbers and ranges like 0-3,8");
}
