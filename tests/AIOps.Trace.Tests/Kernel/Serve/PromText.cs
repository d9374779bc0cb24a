using System.Globalization;
using System.Text.RegularExpressions;

namespace AIOps.Trace.Tests.Kernel.Serve;

/// <summary>One sample of the Prometheus text exposition: name, labels, value.</summary>
public sealed record PromSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public string Label(string name) => Labels.TryGetValue(name, out string? v) ? v : "";
}

/// <summary>A strict reader of the text exposition format (0.0.4), for the tests' own structural checks beside promtool.</summary>
public static partial class PromText
{
    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)( \d+)?$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""\G(?<k>[a-zA-Z_][a-zA-Z0-9_]*)="(?<v>(?:[^"\\]|\\.)*)",?""")]
    private static partial Regex LabelPair();

    public static IReadOnlyList<PromSample> Parse(string text)
    {
        var samples = new List<PromSample>();
        var types = new Dictionary<string, string>();
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0)
                continue;
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                string[] parts = line.Split(' ');
                Assert.True(parts.Length == 4, $"bad TYPE line: {line}");
                Assert.True(types.TryAdd(parts[2], parts[3]), $"TYPE twice for {parts[2]}");
                continue;
            }
            if (line.StartsWith('#'))
                continue;
            Match m = SampleLine().Match(line);
            Assert.True(m.Success, $"not an exposition sample: {line}");
            var labels = new Dictionary<string, string>();
            string raw = m.Groups["labels"].Value;
            int at = 0;
            while (at < raw.Length)
            {
                Match l = LabelPair().Match(raw, at);
                Assert.True(l.Success && l.Index == at, $"bad labels in: {line}");
                Assert.True(labels.TryAdd(l.Groups["k"].Value, Unescape(l.Groups["v"].Value)), $"label twice in: {line}");
                at += l.Length;
            }
            string value = m.Groups["value"].Value;
            double v = value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            string name = m.Groups["name"].Value;
            string family = types.Keys.FirstOrDefault(f => name == f || name == f + "_bucket" || name == f + "_sum" || name == f + "_count")
                ?? throw new Xunit.Sdk.XunitException($"sample {name} has no TYPE");
            Assert.NotNull(family);
            samples.Add(new PromSample(name, labels, v));
        }
        return samples;
    }

    private static string Unescape(string v)
    {
        var b = new System.Text.StringBuilder(v.Length);
        for (int i = 0; i < v.Length; i++)
        {
            if (v[i] != '\\' || i + 1 == v.Length)
            {
                b.Append(v[i]);
                continue;
            }
            char next = v[++i];
            b.Append(next == 'n' ? '\n' : next);
        }
        return b.ToString();
    }
}
