using System.Globalization;
using AIOps.Trace.Analysis.Collection;

namespace AIOps.Trace.Evaluation;

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

    /// <summary>The application itself stalls (its I/O and TCP paused part of the time): no cgroup knob changes.</summary>
    public const string AppStall = "app_stall";

    /// <summary>Not a fault: the whole domain's load rises (every replica alike); its windows are labelled <see cref="None"/>.</summary>
    public const string LoadShift = "load_shift";

    /// <summary>Every fault kind (the labels other than <see cref="None"/>).</summary>
    public static IReadOnlyList<string> Faults { get; } = [CpuCap, NoisyNeighbour, CpusetSqueeze, MemoryLimit, IoThrottle, NetworkLoss, AppStall];
}

/// <summary>Where a window lies in its episode.</summary>
public static class EpisodePhases
{
    /// <summary>Before the fault (or shift) starts.</summary>
    public const string Before = "before";

    /// <summary>The first window with the fault: it was injected at the window's start and is still taking hold.</summary>
    public const string Onset = "onset";

    public const string Fault = "fault";

    /// <summary>After the fault was taken back: labelled <see cref="FaultKinds.None"/>, its effects may linger.</summary>
    public const string Recovery = "recovery";
}

/// <summary>The settings of a container in a window, as environment-aware partitioning reads them (NaN: unlimited or unknown).</summary>
public sealed record RecordedSettings(double CpuQuotaCores, double CpuShares, double CpusetSize, double MemoryLimitBytes);

/// <summary>One container's metric vector in one window of a recorded episode, with its true label.</summary>
/// <param name="Run">The recording run (the unit of the held-out split: no run is both trained and tested on).</param>
/// <param name="Domain">The true monitoring domain (replica group) of the container.</param>
/// <param name="Episode">The episode within the run and domain.</param>
/// <param name="Scenario">What the episode injected (a <see cref="FaultKinds"/> value, <see cref="FaultKinds.LoadShift"/>, or none).</param>
/// <param name="Severity">"mild", "severe", "ramp" (rising over the fault windows) or "-".</param>
/// <param name="Phase">An <see cref="EpisodePhases"/> value.</param>
/// <param name="Window">The window's number within the episode.</param>
/// <param name="Key">The container (replica) key, unique within its domain.</param>
/// <param name="Label">The fault the container was under in this window (<see cref="FaultKinds"/>), <see cref="FaultKinds.None"/> otherwise.</param>
/// <param name="Values">Its <see cref="Metrics"/> vector.</param>
/// <param name="Settings">Its cgroup settings in the window.</param>
public sealed record LabelledWindow(string Run, string Domain, string Episode, string Scenario, string Severity, string Phase, int Window,
    string Key, string Label, double[] Values, RecordedSettings Settings)
{
    public bool IsAbnormal => Label != FaultKinds.None;

    /// <summary>The episode across the whole data set: run, domain and episode.</summary>
    public string EpisodeId => $"{Run}/{Domain}/{Episode}";

    /// <summary>
    /// The recorded block (run and "bN", the episode's prefix): one test case with its own engine,
    /// domains, device and processes, created for it and removed after it. The unit held out.
    /// </summary>
    public string Block => Episode.StartsWith('b') && Episode.IndexOf('e', StringComparison.Ordinal) is > 0 and int e ? $"{Run}/{Episode[..e]}" : Run;
}

/// <summary>
/// The data set's file: tab-separated, a header line, then run, domain, episode, scenario,
/// severity, phase, window, key, label, the four settings and the <see cref="Metrics.Count"/>
/// values (invariant culture, "NaN" where absent).
/// </summary>
public static class LabelledWindowsTsv
{
    private static readonly string[] Fields = ["run", "domain", "episode", "scenario", "severity", "phase", "window", "key", "label",
        "cpu_quota_cores", "cpu_shares", "cpuset_size", "memory_limit_bytes"];

    public static string Header { get; } = string.Join('\t', Fields.Concat(Metrics.Names));

    public static string Format(LabelledWindow w) =>
        string.Join('\t', new[] { w.Run, w.Domain, w.Episode, w.Scenario, w.Severity, w.Phase, w.Window.ToString(CultureInfo.InvariantCulture), w.Key, w.Label }
            .Concat(new[] { w.Settings.CpuQuotaCores, w.Settings.CpuShares, w.Settings.CpusetSize, w.Settings.MemoryLimitBytes }.Select(Number))
            .Concat(w.Values.Select(Number)));

    private static string Number(double v) => v.ToString("R", CultureInfo.InvariantCulture);

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
        int expected = Fields.Length + Metrics.Count;
        foreach (string line in lines)
        {
            number++;
            if (line.Length == 0 || line == Header)
                continue;
            string[] f = line.Split('\t');
            if (f.Length != expected)
                throw new FormatException($"line {number}: {f.Length} fields, expected {expected} ({string.Join(", ", Fields)} and {Metrics.Count} metrics)");
            var numbers = new double[4 + Metrics.Count];
            for (int i = 0; i < numbers.Length; i++)
            {
                string field = f[Fields.Length - 4 + i];
                if (!double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out numbers[i]))
                    throw new FormatException($"line {number}: {(i < 4 ? Fields[Fields.Length - 4 + i] : Metrics.Names[i - 4])} is '{field}', not a number");
            }
            if (!int.TryParse(f[6], NumberStyles.Integer, CultureInfo.InvariantCulture, out int window))
                throw new FormatException($"line {number}: window is '{f[6]}', not an integer");
            rows.Add(new LabelledWindow(f[0], f[1], f[2], f[3], f[4], f[5], window, f[7], f[8], numbers[4..],
                new RecordedSettings(numbers[0], numbers[1], numbers[2], numbers[3])));
        }
        return rows;
    }

    public static IReadOnlyList<LabelledWindow> Read(string path) => Parse(File.ReadLines(path));
}
