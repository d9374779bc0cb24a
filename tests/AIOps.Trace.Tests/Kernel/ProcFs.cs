using System.Globalization;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>The kernel's own per-task accounting: the ground truth the engine is checked against.</summary>
public static class ProcFs
{
    /// <summary>/proc/&lt;pid&gt;/status nonvoluntary_ctxt_switches, summed over the process's threads.</summary>
    public static long NonvoluntarySwitches(int pid) => SumOverThreads(pid, tid =>
        ReadStatusField($"/proc/{pid}/task/{tid}/status", "nonvoluntary_ctxt_switches:"));

    /// <summary>/proc/&lt;pid&gt;/schedstat: time on CPU (ns), time waiting on a run queue (ns), timeslices.</summary>
    public static (long RunNs, long RunDelayNs, long Timeslices) SchedStat(int pid)
    {
        long run = 0, delay = 0, slices = 0;
        foreach (string tid in Directory.GetDirectories($"/proc/{pid}/task").Select(Path.GetFileName)!)
        {
            string[] f = File.ReadAllText($"/proc/{pid}/task/{tid}/schedstat").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            run += long.Parse(f[0], CultureInfo.InvariantCulture);
            delay += long.Parse(f[1], CultureInfo.InvariantCulture);
            slices += long.Parse(f[2], CultureInfo.InvariantCulture);
        }
        return (run, delay, slices);
    }

    /// <summary>
    /// Each thread's capability sets and no_new_privs from /proc/&lt;pid&gt;/task/*/status (threads
    /// that end while being read are left out).
    /// </summary>
    public static List<(int Tid, ulong Effective, ulong Permitted, ulong Bounding, bool NoNewPrivs)> ThreadCapabilities(int pid)
    {
        var threads = new List<(int, ulong, ulong, ulong, bool)>();
        foreach (string dir in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            string text;
            try
            {
                text = File.ReadAllText(Path.Combine(dir, "status"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            var fields = text.Split('\n').Select(l => l.Split(':', 2)).Where(kv => kv.Length == 2)
                .ToDictionary(kv => kv[0], kv => kv[1].Trim());
            ulong Hex(string key) => ulong.Parse(fields[key], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            threads.Add((int.Parse(Path.GetFileName(dir), CultureInfo.InvariantCulture), Hex("CapEff"), Hex("CapPrm"), Hex("CapBnd"), fields["NoNewPrivs"] == "1"));
        }
        return threads;
    }

    private static long SumOverThreads(int pid, Func<string, long> read) =>
        Directory.GetDirectories($"/proc/{pid}/task").Select(d => read(Path.GetFileName(d))).Sum();

    private static long ReadStatusField(string path, string key)
    {
        foreach (string line in File.ReadLines(path))
            if (line.StartsWith(key, StringComparison.Ordinal))
                return long.Parse(line[key.Length..].Trim(), CultureInfo.InvariantCulture);
        throw new InvalidDataException($"{path} has no {key}");
    }

    /// <summary>v1 cpu.stat of a cgroup directory as key/value pairs.</summary>
    public static Dictionary<string, long> CpuStat(string cgroupDir) =>
        File.ReadAllLines(Path.Combine(cgroupDir, "cpu.stat"))
            .Select(l => l.Split(' '))
            .Where(f => f.Length == 2)
            .ToDictionary(f => f[0], f => long.Parse(f[1], CultureInfo.InvariantCulture));
}
