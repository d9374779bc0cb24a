using System.Diagnostics;
using System.Text.RegularExpressions;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// libbpf-tools runqlat run beside the engine, as an independent measurement. It is filtered
/// with -p (the cgroup's only process): its -c filter tests the task being switched out, not
/// the one whose wait is measured, so it would report the neighbour's waits.
/// </summary>
public sealed partial class Runqlat : IDisposable
{
    private readonly Process _process;

    private Runqlat(Process process) => _process = process;

    /// <summary>Starts `runqlat -p PID SECONDS 1` and returns once its programs are attached.</summary>
    public static Runqlat Start(int pid, int seconds)
    {
        // Line-buffered: on a pipe runqlat's stdio would hold "Tracing..." back until it exits.
        var psi = new ProcessStartInfo("stdbuf", $"-oL runqlat -p {pid} {seconds} 1") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        Process p = Process.Start(psi) ?? throw new InvalidOperationException("could not start runqlat");
        string? line;
        while ((line = p.StandardOutput.ReadLine()) is not null && !line.StartsWith("Tracing", StringComparison.Ordinal))
        {
        }
        if (line is null)
            throw new InvalidOperationException("runqlat did not start: " + p.StandardError.ReadToEnd());
        return new Runqlat(p);
    }

    /// <summary>Waits for the interval to end and returns the histogram: count per log2 µs slot.</summary>
    public long[] WaitForHistogram()
    {
        var slots = new long[64];
        string? line;
        while ((line = _process.StandardOutput.ReadLine()) is not null)
        {
            Match m = Row().Match(line);
            if (!m.Success)
                continue;
            long low = long.Parse(m.Groups[1].Value);
            int slot = low < 2 ? 0 : 63 - (int)long.LeadingZeroCount(low);
            slots[slot] = long.Parse(m.Groups[2].Value);
        }
        _process.WaitForExit();
        return slots;
    }

    /// <summary>The log2 µs slot holding quantile <paramref name="q"/> of a runqlat histogram.</summary>
    public static int QuantileSlot(long[] slots, double q)
    {
        long total = slots.Sum(), rank = Math.Max(1, (long)Math.Ceiling(q * total)), seen = 0;
        for (int i = 0; i < slots.Length; i++)
            if ((seen += slots[i]) >= rank)
                return i;
        return -1;
    }

    [GeneratedRegex(@"^\s*(\d+)\s*->\s*\d+\s*:\s*(\d+)")]
    private static partial Regex Row();

    public void Dispose()
    {
        if (!_process.HasExited)
            _process.Kill();
        _process.Dispose();
    }
}
