using System.Globalization;
using AIOps.Trace.Bpf;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Cli;

/// <summary>One container's line in `aiops-trace top`.</summary>
/// <param name="Name">The container's name (namespace/pod/container when known, else the cgroup's).</param>
/// <param name="ThrottledShare">Share of enforcement periods throttled (0..1), or NaN without a quota.</param>
/// <param name="CpuCores">CPU used over the window in cores, or NaN when unknown.</param>
internal sealed record TopRow(string Name, string CgroupPath, long Waits, double P50Us, double P99Us,
    long Involuntary, long BySame, long ByOther, long ByHost, long ByUnknown,
    double ThrottledShare, double ThrottledMsPerSecond, double CpuCores, string Outcome, int Severity = 0);

/// <summary>The rows of `top` and their plain-text table: pure, so it is tested without a kernel.</summary>
internal static class TopView
{
    /// <summary>Rows from one diagnosed window, the longest p99 run-queue latency first (or the most severe verdict first).</summary>
    public static List<TopRow> Rows(IEnumerable<ContainerDiagnosis> diagnoses, double windowSeconds, bool bySeverity = false)
    {
        double seconds = windowSeconds > 0 ? windowSeconds : 1;
        var rows = new List<TopRow>();
        foreach (ContainerDiagnosis d in diagnoses)
        {
            ContainerSnapshot c = d.Container;
            ThrottlingFigures t = c.Throttling;
            rows.Add(new TopRow(
                Name: c.Name.Length > 0 ? c.Name : c.CgroupPath,
                CgroupPath: c.CgroupPath,
                Waits: c.RunQueue.Count,
                P50Us: c.RunQueue.Count == 0 ? 0 : c.RunQueue.ValueAtQuantile(0.5) / 1000,
                P99Us: c.RunQueue.Count == 0 ? 0 : c.RunQueue.ValueAtQuantile(0.99) / 1000,
                Involuntary: c.Involuntary,
                BySame: c.PreemptedBySame,
                ByOther: c.PreemptedByOther,
                ByHost: c.PreemptedByHost,
                ByUnknown: c.PreemptedByUnknown,
                ThrottledShare: t.Periods > 0 ? (double)t.ThrottledPeriods / t.Periods : double.NaN,
                ThrottledMsPerSecond: t.ThrottledNs / 1e6 / seconds,
                CpuCores: c.CpuUsageNs >= 0 ? c.CpuUsageNs / 1e9 / seconds : double.NaN,
                Outcome: d.Cpu.Outcome,
                Severity: d.All.Max(r => DiagnosisGuide.For(r.Resource, r.Outcome).Severity)));
        }
        return bySeverity ? SortBySeverity(rows) : Sort(rows);
    }

    /// <summary>The worst verdict first (any resource, <see cref="OutcomeGuide.Severity"/>), then the longest p99.</summary>
    public static List<TopRow> SortBySeverity(IEnumerable<TopRow> rows) =>
        rows.OrderByDescending(r => r.Severity).ThenByDescending(r => r.P99Us).ThenBy(r => r.Name, StringComparer.Ordinal).ToList();

    /// <summary>Longest p99 first; ties by more waits, then by name so the order is stable.</summary>
    public static List<TopRow> Sort(IEnumerable<TopRow> rows) =>
        rows.OrderByDescending(r => r.P99Us).ThenByDescending(r => r.Waits).ThenBy(r => r.Name, StringComparer.Ordinal).ToList();

    /// <summary>The column titles, shared by the plain and the live table.</summary>
    public static readonly string[] Columns =
        ["CONTAINER", "P50 us", "P99 us", "WAITS", "PREEMPT", "SAME", "OTHER", "HOST", "UNKN", "THR %", "THR ms/s", "CPU", "CPU OUTCOME"];

    /// <summary>The cells of a row, formatted as both tables show them.</summary>
    public static string[] Cells(TopRow r) =>
    [
        r.Name,
        Num(r.P50Us, "0.0"), Num(r.P99Us, "0.0"), r.Waits.ToString(CultureInfo.InvariantCulture),
        r.Involuntary.ToString(CultureInfo.InvariantCulture), r.BySame.ToString(CultureInfo.InvariantCulture),
        r.ByOther.ToString(CultureInfo.InvariantCulture), r.ByHost.ToString(CultureInfo.InvariantCulture),
        r.ByUnknown.ToString(CultureInfo.InvariantCulture),
        double.IsNaN(r.ThrottledShare) ? "-" : Num(100 * r.ThrottledShare, "0"),
        Num(r.ThrottledMsPerSecond, "0.0"), double.IsNaN(r.CpuCores) ? "-" : Num(r.CpuCores, "0.00"),
        r.Outcome,
    ];

    /// <summary>The header line: time, window, host idle share, lost events and the tier.</summary>
    public static string Header(EngineSnapshot w, DateTime now) =>
        $"aiops-trace top  {now:HH:mm:ss}  window {w.WindowSeconds:0.00}s  host idle {w.Host.IdleRatio:P0} of {w.Host.Cpus} CPUs  " +
        $"lost events {w.LostEvents}  ({(w.Kernel.Mode == TierMode.Procfs ? "procfs sampling" : $"{w.Kernel.Attach} + {w.Kernel.Ring}")})";

    /// <summary>A fixed-width table: the name column as wide as the longest name (at most <paramref name="nameWidth"/>).</summary>
    public static void WritePlain(TextWriter o, string header, IReadOnlyList<TopRow> rows, int nameWidth = 60)
    {
        o.WriteLine(header);
        int width = Math.Clamp(rows.Count == 0 ? 0 : rows.Max(r => r.Name.Length), Columns[0].Length, nameWidth);
        var lines = new List<string[]> { Columns };
        lines.AddRange(rows.Select(Cells));
        foreach (string[] cells in lines)
        {
            var line = new System.Text.StringBuilder();
            line.Append(Fit(cells[0], width).PadRight(width));
            for (int i = 1; i < cells.Length - 1; i++)
                line.Append(' ').Append(cells[i].PadLeft(Math.Max(Columns[i].Length, 7)));
            line.Append("  ").Append(cells[^1]);
            o.WriteLine(line.ToString());
        }
        if (rows.Count == 0)
            o.WriteLine("(no container ran in this window)");
    }

    /// <summary>Keeps the end of a long name, where containers differ.</summary>
    public static string Fit(string name, int width) => name.Length <= width ? name : "…" + name[^(width - 1)..];

    private static string Num(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
}
