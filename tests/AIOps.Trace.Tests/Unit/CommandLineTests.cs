using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using AIOps.Trace.Tests.Kernel;

namespace AIOps.Trace.Tests.Unit;

/// <summary>
/// The aiops-trace command line on System.CommandLine, run as a process as users run it: help per
/// command, --version, completion, JSON logs, and bad input as one line with exit code 2. None of
/// these load BPF: every case ends before the engine starts.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("aiops-library-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("snapshot", "--duration", "--cgroup")]
    [InlineData("watch", "--interval", "--throttle-hook")]
    [InlineData("diagnose", "--container", "--transport")]
    [InlineData("top", "--rows", "--mode")]
    [InlineData("serve", "--listen", "--token-file")]
    [InlineData("doctor", "--btf", "--json")]
    [InlineData("label", "--abnormal", "--kind")]
    [InlineData("analyze", "--prometheus", "--window")]
    public void Each_command_has_its_own_help(string command, string option, string another)
    {
        (int code, string stdout, string stderr) = CliProcess.Run(command, "--help");

        Assert.True(code == 0, stderr);
        Assert.Equal("", stderr);
        Assert.Contains($"aiops-trace {command}", stdout);
        Assert.Contains(option + " ", stdout);
        Assert.Contains(another + " ", stdout);
        // `help COMMAND` is the same page.
        Assert.Equal(stdout, CliProcess.Run("help", command).Stdout);
    }

    [Fact]
    public void Version_is_the_assembly_version()
    {
        (int code, string stdout, _) = CliProcess.Run("--version");

        Assert.Equal(0, code);
        string expected = Assembly.LoadFrom(Path.Combine(AppContext.BaseDirectory, "aiops-trace.dll"))
            .GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Equal(expected, stdout.Trim());
    }

    [Fact]
    public void No_command_prints_the_commands_and_exit_code_2()
    {
        (int code, string stdout, _) = CliProcess.Run();

        Assert.Equal(2, code);
        foreach (string command in new[] { "snapshot", "watch", "diagnose", "top", "serve", "doctor", "label", "analyze", "completion" })
            Assert.Contains("  " + command, stdout);
    }

    [Theory]
    // Issue 14: each of these was accepted, or failed with a raw .NET message, before.
    [InlineData(new[] { "snapshot", "--cgroup", "" }, "--cgroup '' is empty: expected a path relative to the cpu hierarchy's root")]
    [InlineData(new[] { "snapshot", "--cgroup", "/../../../../etc" }, "--cgroup '/../../../../etc' has a '..' segment")]
    [InlineData(new[] { "watch", "--cgroup", "/system.slice/./x" }, "--cgroup '/system.slice/./x' has a '.' segment")]
    [InlineData(new[] { "snapshot", "--btf", "" }, "--btf '' is empty: expected a BTF file or a BTFHub archive directory")]
    [InlineData(new[] { "doctor", "--btf", "" }, "--btf '' is empty: expected a BTF file or a BTFHub archive directory")]
    [InlineData(new[] { "label", "", "--abnormal" }, "label CONTAINER '' is not a container")]
    [InlineData(new[] { "label", "x", "--abnormal", "--kind", "a b" }, "--kind 'a b' is not a kind: expected 1 to 64 letters, digits")]
    [InlineData(new[] { "label", "x", "--abnormal", "--kind", "" }, "--kind '' is not a kind")]
    // The parser's own refusals, in the same words.
    [InlineData(new[] { "snapshot", "--duration" }, "--duration needs a value")]
    [InlineData(new[] { "snapshot", "--cgroup", "/a", "--cgroup" }, "--cgroup needs a value")]
    [InlineData(new[] { "serve", "--bogus" }, "unknown option --bogus")]
    [InlineData(new[] { "doctor", "extra" }, "unexpected argument 'extra'")]
    [InlineData(new[] { "completion", "tcsh" }, "completion 'tcsh' is not a shell this knows: expected bash")]
    [InlineData(new[] { "snapshot", "--log-format", "yaml" }, "--log-format 'yaml' is not known: expected text or json")]
    public void Bad_input_is_one_line_and_exit_code_2(string[] args, string expected)
    {
        string db = Path.Combine(_dir, "verdicts.db");
        string[] all = args[0] == "label" ? [.. args, "--db", db] : args;

        (int code, string stdout, string stderr) = CliProcess.Run(all);

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("aiops-trace: ", line);
        Assert.Contains(expected, line);
        // A refused label stores nothing.
        Assert.False(File.Exists(db), "label wrote a database for input it refused");
    }

    [Fact]
    public void Json_logs_are_one_object_a_line_on_stderr()
    {
        (int code, string stdout, string stderr) = CliProcess.Run("snapshot", "--log-format", "json", "--host-root", "/aiops-library-no-such-dir");

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        using JsonDocument record = JsonDocument.Parse(Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Equal("Error", record.RootElement.GetProperty("LogLevel").GetString());
        Assert.Equal("aiops-trace", record.RootElement.GetProperty("Category").GetString());
        Assert.StartsWith("--host-root '/aiops-library-no-such-dir' is not a directory", record.RootElement.GetProperty("Message").GetString());
    }

    [Theory]
    [InlineData("aiops-trace sn", new[] { "snapshot" })]
    [InlineData("aiops-trace snapshot --tr", new[] { "--transport" })]
    [InlineData("aiops-trace snapshot --transport ", new[] { "auto", "perfbuf", "ringbuf" })]
    [InlineData("aiops-trace top --throttle-hook k", new[] { "kprobe" })]
    public async Task The_bash_completion_script_completes_commands_options_and_values(string line, string[] expected)
    {
        // The script calls the binary by the name typed: a wrapper named aiops-trace on PATH runs the built dll.
        string wrapper = Path.Combine(_dir, "aiops-trace");
        File.WriteAllText(wrapper, $"#!/bin/sh\nexec dotnet '{Path.Combine(AppContext.BaseDirectory, "aiops-trace.dll")}' \"$@\"\n");
        File.SetUnixFileMode(wrapper, (UnixFileMode)0x1ED);
        string[] words = line.Split(' ');
        string script = $$"""
            source <(aiops-trace completion bash)
            COMP_LINE='{{line}}'; COMP_POINT=${#COMP_LINE}
            COMP_WORDS=({{string.Join(' ', words.Select(w => $"'{w}'"))}}); COMP_CWORD={{words.Length - 1}}
            _aiops_trace_complete
            printf '%s\n' "${COMPREPLY[@]}"
            """;
        var psi = new ProcessStartInfo("bash", ["-c", script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["PATH"] = _dir + ":" + Environment.GetEnvironmentVariable("PATH");

        using Process bash = Process.Start(psi)!;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Task<string> stdout = bash.StandardOutput.ReadToEndAsync(deadline.Token), stderr = bash.StandardError.ReadToEndAsync(deadline.Token);
        await bash.WaitForExitAsync(deadline.Token);

        Assert.True(bash.ExitCode == 0, await stderr);
        Assert.Equal(expected, (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());
    }
}
