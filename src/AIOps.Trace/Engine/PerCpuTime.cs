using System.Globalization;

namespace AIOps.Trace;

/// <summary>Busy and total time of each CPU from /proc/stat's "cpuN" lines, for per-CPU busy shares over a window.</summary>
public sealed class PerCpuTime
{
    private readonly Dictionary<int, (ulong Busy, ulong Total)> _byCpu;

    private PerCpuTime(Dictionary<int, (ulong Busy, ulong Total)> byCpu) => _byCpu = byCpu;

    public static PerCpuTime Read(string hostRoot = "/")
    {
        string path = Path.Combine(hostRoot, "proc/stat");
        return Parse(File.ReadAllText(File.Exists(path) ? path : "/proc/stat"));
    }

    /// <summary>Parses /proc/stat text; the aggregate "cpu" line and every non-cpu line are ignored.</summary>
    public static PerCpuTime Parse(string procStat)
    {
        var byCpu = new Dictionary<int, (ulong, ulong)>();
        foreach (string line in procStat.Split('\n'))
        {
            if (!line.StartsWith("cpu", StringComparison.Ordinal) || line.Length < 4 || !char.IsAsciiDigit(line[3]))
                continue;
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (!int.TryParse(f[0].AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out int cpu))
                continue;
            ulong total = 0, idle = 0;
            // user nice system idle iowait irq softirq steal: guest time is inside user and nice.
            for (int i = 1; i < f.Length && i <= 8; i++)
            {
                if (!ulong.TryParse(f[i], NumberStyles.None, CultureInfo.InvariantCulture, out ulong v))
                    break;
                total += v;
                if (i is 4 or 5)
                    idle += v;
            }
            byCpu[cpu] = (total - idle, total);
        }
        return new PerCpuTime(byCpu);
    }

    /// <summary>Each CPU's busy share between <paramref name="earlier"/> and this reading (CPUs in both only).</summary>
    public IReadOnlyDictionary<int, double> BusySince(PerCpuTime earlier)
    {
        var busy = new Dictionary<int, double>(_byCpu.Count);
        foreach ((int cpu, (ulong b, ulong t)) in _byCpu)
        {
            if (!earlier._byCpu.TryGetValue(cpu, out var e) || t <= e.Total)
                continue;
            busy[cpu] = (double)(b - e.Busy) / (t - e.Total);
        }
        return busy;
    }
}
