using System.Diagnostics;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>Runs the aiops-trace CLI built beside the tests as a separate process, as users run it.</summary>
public static class CliProcess
{
    /// <summary>Runs the CLI with <paramref name="args"/>.</summary>
    public static (int ExitCode, string Stdout, string Stderr) Run(params string[] args) => Run([], args);

    /// <summary>Runs the CLI, optionally behind a command prefix (e.g. setpriv to drop root).</summary>
    public static (int ExitCode, string Stdout, string Stderr) Run(string[] prefix, string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "aiops-trace.dll");
        var psi = new ProcessStartInfo(prefix.Length > 0 ? prefix[0] : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string word in prefix.Skip(1).Concat(prefix.Length > 0 ? ["dotnet"] : []))
            psi.ArgumentList.Add(word);
        psi.ArgumentList.Add(dll);
        foreach (string a in args)
            psi.ArgumentList.Add(a);
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync(), stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000), "aiops-trace did not finish in 60 s");
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
