using System.Diagnostics;

namespace AIOps.Trace.Tests.Kernel.Containers;

/// <summary>Runs the engines' command-line clients (docker, podman, ctr) and the project's image scripts.</summary>
internal static class Sh
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string Out => Stdout.Trim();

        public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
    }

    /// <summary>Runs <paramref name="file"/> to its end (at most <paramref name="timeout"/>, then it is killed and the test fails).</summary>
    public static Result Run(string file, IEnumerable<string> args, TimeSpan? timeout = null, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
            psi.ArgumentList.Add(a);
        foreach ((string k, string v) in env ?? new Dictionary<string, string>())
            psi.Environment[k] = v;
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync(), stderr = p.StandardError.ReadToEndAsync();
        TimeSpan limit = timeout ?? TimeSpan.FromSeconds(120);
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            throw new Xunit.Sdk.XunitException($"{file} {string.Join(' ', args)} did not finish in {limit.TotalSeconds:0} s\nstdout: {stdout.Result}\nstderr: {stderr.Result}");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    public static Result Run(string file, params string[] args) => Run(file, args, null);

    /// <summary>Runs and fails the test unless the command exits 0; returns its trimmed stdout.</summary>
    public static string Ok(string file, params string[] args) => Ok(file, args, null);

    public static string Ok(string file, IEnumerable<string> args, TimeSpan? timeout, IReadOnlyDictionary<string, string>? env = null)
    {
        string[] list = args.ToArray();
        Result r = Run(file, list, timeout, env);
        Assert.True(r.ExitCode == 0, $"{file} {string.Join(' ', list)}: {r}");
        return r.Out;
    }

    /// <summary>Polls <paramref name="probe"/> until it returns non-null, failing with <paramref name="what"/> and the last state at the deadline.</summary>
    public static T Until<T>(TimeSpan deadline, string what, Func<T?> probe, Func<string>? state = null) where T : class
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (probe() is { } value)
                return value;
            if (clock.Elapsed > deadline)
                throw new Xunit.Sdk.XunitException($"{what}: not within {deadline.TotalSeconds:0} s{(state is null ? "" : "\n" + state())}");
            Thread.Sleep(100);
        }
    }
}
