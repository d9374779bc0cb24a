using System.Diagnostics;
using System.Text.Json;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>What bpftool says is loaded: the independent check that tests leave nothing behind.</summary>
public static class BpfState
{
    /// <summary>Ids of loaded programs whose name starts with "aiops_" (the kernel keeps 15 characters).</summary>
    public static IReadOnlyList<int> OurPrograms()
    {
        using JsonDocument doc = JsonDocument.Parse(Run("bpftool", "-j prog show"));
        return doc.RootElement.EnumerateArray()
            .Where(p => p.TryGetProperty("name", out JsonElement n) && n.GetString()!.StartsWith("aiops_", StringComparison.Ordinal))
            .Select(p => p.GetProperty("id").GetInt32())
            .ToList();
    }

    /// <summary>
    /// Waits until none of our programs is loaded. The kernel frees a program after an RCU grace
    /// period once its last fd and link are gone, so it can still be listed for a moment.
    /// </summary>
    public static IReadOnlyList<int> OurProgramsAfterRelease(TimeSpan? timeout = null)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        IReadOnlyList<int> left;
        while ((left = OurPrograms()).Count > 0 && deadline.Elapsed < (timeout ?? TimeSpan.FromSeconds(5)))
            Thread.Sleep(50);
        return left;
    }

    /// <summary>Links of those programs.</summary>
    public static int LinksOf(IReadOnlyCollection<int> programIds)
    {
        using JsonDocument doc = JsonDocument.Parse(Run("bpftool", "-j link show"));
        return doc.RootElement.EnumerateArray()
            .Count(l => l.TryGetProperty("prog_id", out JsonElement id) && programIds.Contains(id.GetInt32()));
    }

    internal static string Run(string file, string args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using Process p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{file} {args} exited {p.ExitCode}: {error}");
        return output;
    }
}
