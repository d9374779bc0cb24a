using System.Globalization;

namespace AIOps.Trace.KernelMatrix;

/// <summary>
/// aiops-kernel-matrix: judges what tests/kernel-matrix/run.sh collected and writes the results.
/// Called by `./build.sh --target=KernelMatrix` after the boots:
///   aiops-kernel-matrix --matrix artifacts/kernel-matrix --tiers auto,... --command "..." --minutes 12.3
///                       [--page docs/kernel-matrix.md] [--support docs/kernel-support.md]
/// Writes &lt;matrix&gt;/results.md (every check), the page and the generated block of the support
/// page; exit code 1 when a check failed, 2 on bad arguments.
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        var options = new Dictionary<string, string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                return Usage($"argument '{args[i]}': expected --name value pairs");
            options[args[i][2..]] = args[++i];
        }
        string[] known = ["matrix", "tiers", "command", "minutes", "page", "support"];
        if (options.Keys.FirstOrDefault(k => !known.Contains(k)) is string unknown)
            return Usage($"--{unknown} is not known: expected {string.Join(", ", known.Select(k => "--" + k))}");
        if (!options.TryGetValue("matrix", out string? matrix) || !File.Exists(Path.Combine(matrix, "runs.txt")))
            return Usage("--matrix: expected the folder tests/kernel-matrix/run.sh wrote (with runs.txt)");
        if (!options.TryGetValue("tiers", out string? tiers))
            return Usage("--tiers: expected the tiers the guests were asked to run, e.g. auto,perfbuf:raw_tp:kprobe");
        double minutes = 0;
        if (options.TryGetValue("minutes", out string? m) && !double.TryParse(m, NumberStyles.Float, CultureInfo.InvariantCulture, out minutes))
            return Usage($"--minutes '{m}': expected a number");

        var runs = File.ReadAllLines(Path.Combine(matrix, "runs.txt")).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length == 2).Select(f => (Release: f[0], Layout: f[1])).ToList();
        List<GuestLog> guests = runs.Select(r => GuestLog.Read(matrix, r.Release, r.Layout)).ToList();
        IReadOnlyList<string> asked = tiers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Verdicts v = Judge.Run(guests, asked);
        var run = new MatrixPage.RunInfo(DateTime.UtcNow, options.GetValueOrDefault("command", "./build.sh --target=KernelMatrix"),
            guests.Select(g => g.Boot.GetValueOrDefault("accel", "?")).FirstOrDefault() ?? "?", minutes,
            runs.Select(r => r.Release).Distinct().ToList());

        string results = MatrixPage.Results(v, run);
        File.WriteAllText(Path.Combine(matrix, "results.md"), results);
        Console.WriteLine(results);
        if (options.TryGetValue("page", out string? page))
            File.WriteAllText(page, MatrixPage.Page(v, run));
        if (options.TryGetValue("support", out string? support))
        {
            string? updated = MatrixPage.ReplaceGenerated(File.ReadAllText(support), v, run);
            if (updated is null)
                return Usage($"--support '{support}': expected the markers {MatrixPage.BeginMarker} and {MatrixPage.EndMarker}");
            File.WriteAllText(support, updated);
        }
        Console.WriteLine($"kernel matrix: {v.Passed} checks passed, {v.Failed} failed, {guests.Count} boots");
        return v.Failed == 0 ? 0 : 1;
    }

    private static int Usage(string message)
    {
        Console.Error.WriteLine("aiops-kernel-matrix: " + message);
        return 2;
    }
}
