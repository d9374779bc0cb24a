using System.Globalization;
using AIOps.Trace.Analysis.Collection;

namespace AIOps.Trace.Analysis.Evaluation;

/// <summary>The labels of the detection data set: the fault a replica was given, or none.</summary>
public static class FaultKinds
{
    public const string None = "none";
    public const string CpuCap = "cpu_cap";
    public const string NoisyNeighbour = "noisy_neighbour";
    public const string CpusetSqueeze = "cpuset_squeeze";
    public const string MemoryLimit = "memory_limit";
    public const string IoThrottle = "io_throttle";
    public const string NetworkLoss = "network_loss";
}

/// <summary>One container's metric vector in one window of a recorded episode, with its true label.</summary>
/// <param name="Run">The recording run (the unit of the held-out split: no run is both trained and tested on).</param>
/// <param name="Episode">The episode within the run (one fault, or none, given to one replica).</param>
/// <param name="Window">The window's number within the episode.</param>
/// <param name="Key">The container (replica) key.</param>
/// <param name="Label">The fault the container was given (<see cref="FaultKinds"/>), <see cref="FaultKinds.None"/> for the others.</param>
/// <param name="Values">Its <see cref="Metrics"/> vector.</param>
public sealed record LabelledWindow(string Run, string Episode, int Window, string Key, string Label, double[] Values)
{
    public bool IsAbnormal => Label != FaultKinds.None;
}

/// <summary>
/// The data set's file: tab-separated, a header line, then "run, episode, window, key, label" and
/// the <see cref="Metrics.Count"/> values (invariant culture, "NaN" where absent).
/// </summary>
public static class LabelledWindowsTsv
{
    public static string Header { get; } = string.Join('\t', new[] { "run", "episode", "window", "key", "label" }.Concat(Metrics.Names));

    public static string Format(LabelledWindow w) =>
        string.Join('\t', new[] { w.Run, w.Episode, w.Window.ToString(CultureInfo.InvariantCulture), w.Key, w.Label }
            .Concat(w.Values.Select(v => v.ToString("R", CultureInfo.InvariantCulture))));

    /// <summary>Appends rows, writing the header first when the file is new.</summary>
    public static void Append(string path, IEnumerable<LabelledWindow> rows)
    {
        bool fresh = !File.Exists(path) || new FileInfo(path).Length == 0;
        using var writer = new StreamWriter(path, append: true);
        if (fresh)
            writer.WriteLine(Header);
        foreach (LabelledWindow w in rows)
            writer.WriteLine(Format(w));
    }

    /// <summary>Parses the file's lines; a line that is not a row (wrong field count, bad number) throws, naming its line number.</summary>
    public static IReadOnlyList<LabelledWindow> Parse(IEnumerable<string> lines)
    {
        var rows = new List<LabelledWindow>();
        int number = 0;
        foreach (string line in lines)
        {
            number++;
            if (line.Length == 0 || line == Header)
                continue;
            string[] f = line.Split('\t');
            if (f.Length != 5 + Metrics.Count)
                throw new FormatException($"line {number}: {f.Length} fields, expected {5 + Metrics.Count} (run, episode, window, key, label and {Metrics.Count} metrics)");
            var values = new double[Metrics.Count];
            for (int i = 0; i < values.Length; i++)
                if (!double.TryParse(f[5 + i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]))
                    throw new FormatException($"line {number}: {Metrics.Names[i]} is '{f[5 + i]}', not a number");
            if (!int.TryParse(f[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out int window))
                throw new FormatException($"line {number}: window is '{f[2]}', not an integer");
            rows.Add(new LabelledWindow(f[0], f[1], window, f[3], f[4], values));
        }
        return rows;
    }

    public static IReadOnlyList<LabelledWindow> Read(string path) => Parse(File.ReadLines(path));
}
