using System.Globalization;

namespace AIOps.Trace.Cli;

/// <summary>A command-line mistake: printed as one line, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>Minimal `--name value` / `--name=value` / `--flag` parsing (AOT-friendly, no reflection).</summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public Arguments(IEnumerable<string> args, IReadOnlySet<string> flags)
    {
        using IEnumerator<string> e = args.GetEnumerator();
        while (e.MoveNext())
        {
            string a = e.Current;
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2)
                throw new UsageException($"unexpected argument '{a}'");
            string name = a[2..], value;
            int eq = name.IndexOf('=');
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            else if (flags.Contains(name))
            {
                _flags.Add(name);
                continue;
            }
            else if (!e.MoveNext())
                throw new UsageException($"--{name} needs a value");
            else
                value = e.Current;
            if (!_values.TryGetValue(name, out List<string>? list))
                _values[name] = list = new List<string>();
            list.Add(value);
        }
    }

    public bool Flag(string name)
    {
        _used.Add(name);
        return _flags.Contains(name);
    }

    public string? Value(string name)
    {
        _used.Add(name);
        return _values.TryGetValue(name, out List<string>? v) ? v[^1] : null;
    }

    public IReadOnlyList<string> Values(string name)
    {
        _used.Add(name);
        return _values.TryGetValue(name, out List<string>? v) ? v : [];
    }

    /// <summary>Rejects options the command did not ask for.</summary>
    public void RejectUnknown()
    {
        foreach (string name in _values.Keys.Concat(_flags))
            if (!_used.Contains(name))
                throw new UsageException($"unknown option --{name}");
    }

    public TimeSpan Duration(string name, TimeSpan fallback, TimeSpan min, TimeSpan max)
    {
        string? text = Value(name);
        if (text is null)
            return fallback;
        if (!TryParseDuration(text, out TimeSpan d))
            throw new UsageException($"--{name} '{text}' is not a duration: expected a number with a unit, e.g. 500ms, 5s, 2m");
        if (d < min || d > max)
            throw new UsageException($"--{name} {text} is out of range: expected {Format(min)} to {Format(max)}");
        return d;
    }

    internal static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = default;
        (string suffix, double scale)[] units = [("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)];
        foreach ((string suffix, double scale) in units)
        {
            if (!text.EndsWith(suffix, StringComparison.Ordinal))
                continue;
            string number = text[..^suffix.Length];
            if (number.Length == 0 || number.EndsWith('m'))
                continue;
            if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
                return false;
            // TimeSpan.FromSeconds throws past about 29,000 years: such a text is no duration either.
            double seconds = v * scale;
            if (!(seconds < TimeSpan.MaxValue.TotalSeconds))
                return false;
            duration = TimeSpan.FromSeconds(seconds);
            return true;
        }
        return false;
    }

    private static string Format(TimeSpan t) => t.TotalSeconds >= 1 ? $"{t.TotalSeconds:0.###}s" : $"{t.TotalMilliseconds:0}ms";
}
