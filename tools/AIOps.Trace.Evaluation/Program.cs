namespace AIOps.Trace.Evaluation;

/// <summary>
/// aiops-trace-evaluation --windows FILE [--recording FILE] [--out FILE] [--command TEXT]:
/// scores the recorded detection benchmark and prints (and writes) the report. Exit 2 on bad input.
/// </summary>
public static class EvaluationTool
{
    public static int Main(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length || args[i] is not ("--windows" or "--recording" or "--out" or "--command"))
            {
                Console.Error.WriteLine($"aiops-trace-evaluation: unexpected argument '{args[i]}': expected --windows FILE [--recording FILE] [--out FILE] [--command TEXT]");
                return 2;
            }
            options[args[i][2..]] = args[++i];
        }
        if (!options.TryGetValue("windows", out string? windows) || !File.Exists(windows))
        {
            Console.Error.WriteLine($"aiops-trace-evaluation: --windows '{options.GetValueOrDefault("windows")}' is not a file: expected the recorded windows.tsv");
            return 2;
        }
        IReadOnlyList<LabelledWindow> rows;
        try
        {
            rows = LabelledWindowsTsv.Read(windows);
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine($"aiops-trace-evaluation: {windows}: {e.Message}");
            return 2;
        }
        if (rows.Select(r => r.Block).Distinct().Count() < 2)
        {
            Console.Error.WriteLine($"aiops-trace-evaluation: {windows} holds {rows.Select(r => r.Block).Distinct().Count()} recorded block(s): a held-out split needs at least 2");
            return 2;
        }
        string[]? recording = options.TryGetValue("recording", out string? log) && File.Exists(log) ? File.ReadAllLines(log) : null;
        string report = Report.Markdown(Benchmark.Run(rows), new DetectionTargets(), options.GetValueOrDefault("command"), recording);
        if (options.TryGetValue("out", out string? output))
            File.WriteAllText(output, report);
        Console.Write(report);
        return 0;
    }
}
