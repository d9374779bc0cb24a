using System.CommandLine;
using System.Globalization;

namespace AIOps.Trace.Cli;

/// <summary>A command-line mistake: printed as one line, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// The values one command was given, by option name without the dashes, read from
/// System.CommandLine's parse of the command line (<see cref="CliCommands"/>, which declares each
/// command's options and rejects any other).
/// </summary>
internal sealed class Arguments(ParseResult result)
{
    private readonly Command _command = result.CommandResult.Command;

    /// <summary>The parse of the whole command line, e.g. to tell a test what <c>aiops-trace snapshot --cgroup x</c> gives.</summary>
    public static Arguments Parse(params string[] args)
    {
        ParseResult parsed = CliCommands.Root().Parse(args);
        if (parsed.Errors.Count > 0)
            throw new UsageException(CliCommands.Describe(parsed));
        return new Arguments(parsed);
    }

    public bool Flag(string name) => result.GetValue((Option<bool>)Find(name));

    /// <summary>The value of --<paramref name="name"/>; the last one when it was given more than once.</summary>
    public string? Value(string name) => Values(name) is { Count: > 0 } all ? all[^1] : null;

    public IReadOnlyList<string> Values(string name) => result.GetValue((Option<string[]>)Find(name)) ?? [];

    /// <summary>The value of the positional argument <paramref name="name"/>.</summary>
    public string? Argument(string name) =>
        result.GetValue((Argument<string>)(_command.Arguments.FirstOrDefault(a => a.Name == name)
            ?? throw new InvalidOperationException($"{_command.Name} declares no argument {name}")));

    /// <summary>--log-format: text (the default) or json.</summary>
    public string LogFormat => result.GetValue<string[]>("--log-format") is [.., string last] ? last : "text";

    // A name a command reads but did not declare is a bug in CliCommands, not bad input.
    private Option Find(string name) =>
        _command.Options.FirstOrDefault(o => o.Name == "--" + name)
        ?? throw new InvalidOperationException($"{_command.Name} declares no option --{name}");

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
