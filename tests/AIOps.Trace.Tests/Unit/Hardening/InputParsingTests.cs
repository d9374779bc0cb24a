using AIOps.Trace.Cli;
using AIOps.Trace.Tests.Kernel;
using AIOps.Trace.Tests.Shared;

namespace AIOps.Trace.Tests.Unit.Hardening;

/// <summary>Issue 14, items 1 and 3: durations and /proc/stat text that overflow are bad input, never a crash.</summary>
public sealed class InputParsingTests
{
    [Theory]
    [InlineData("99999999999999999999h")]
    [InlineData("1e300s")]
    [InlineData("300000000000000m")]
    [InlineData("9223372036854775807s")]
    [InlineData("179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000ms")]
    public void A_duration_past_what_a_TimeSpan_holds_is_not_a_duration(string text)
    {
        Assert.False(Arguments.TryParseDuration(text, out _));
        var e = Assert.Throws<UsageException>(() =>
            Arguments.Parse("snapshot", "--duration", text).Duration("duration", TimeSpan.FromSeconds(1), TimeSpan.Zero, TimeSpan.MaxValue));
        Assert.Contains($"--duration '{text}' is not a duration", e.Message);
    }

    [Fact]
    public void The_largest_duration_that_fits_still_parses()
    {
        Assert.True(Arguments.TryParseDuration("100000000h", out TimeSpan d));
        Assert.Equal(TimeSpan.FromHours(100_000_000), d);
    }

    [Theory]
    [InlineData("snapshot", "--duration")]
    [InlineData("watch", "--interval")]
    [InlineData("serve", "--interval")]
    [InlineData("top", "--interval")]
    [InlineData("analyze", "--window")]
    public void Every_command_answers_an_overflowing_duration_with_one_line_and_exit_2(string command, string option)
    {
        string[] args = command == "analyze"
            ? [command, "--prometheus", "http://127.0.0.1:9/", "--once", option, "99999999999999999999h"]
            : [command, option, "99999999999999999999h"];
        (int code, string stdout, string stderr) = CliProcess.Run(args);

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"aiops-trace: {option} '99999999999999999999h' is not a duration: expected a number with a unit, e.g. 500ms, 5s, 2m", line);
    }

    [Theory]
    [InlineData("cpu  18446744073709551615 18446744073709551615 1 1 1 1 1 1 0 0")] // the sum passes 64 bits
    [InlineData("cpu  99999999999999999999999 1 1 1 1 1 1 1 0 0")] // a field past 64 bits
    [InlineData("cpu  -5 1 2 3 4 5 6 7 0 0")]
    [InlineData("cpu  abc def")]
    [InlineData("cpu  1,5 2 3 4")]
    [InlineData("cpu")]
    public void A_malformed_proc_stat_line_reads_as_no_ticks(string line)
    {
        HostCpu cpu = HostCpu.Parse(line);
        Assert.Equal(default, cpu);
        Assert.Equal(0, HostCpu.IdleRatio(new HostCpu(100, 1000), cpu));
    }

    [Fact]
    public void A_well_formed_proc_stat_line_sums_the_eight_fields_and_the_idle_ones()
    {
        HostCpu cpu = HostCpu.Parse("cpu  10 20 30 40 50 60 70 80 90 100");
        Assert.Equal(new HostCpu(40 + 50, 10 + 20 + 30 + 40 + 50 + 60 + 70 + 80), cpu);
        Assert.Equal(0.5, HostCpu.IdleRatio(new HostCpu(0, 0), new HostCpu(50, 100)));
    }

    [Fact]
    public void A_malformed_proc_stat_under_the_host_root_does_not_crash_the_reader()
    {
        using var root = new TempDir("aiops-harden-hostroot-");
        Directory.CreateDirectory(Path.Combine(root.Path, "proc"));
        File.WriteAllText(Path.Combine(root.Path, "proc/stat"), "cpu  1 2 three 4\ncpu0 x y z\nintr 5\n");

        Assert.Equal(default, HostCpu.Read(root.Path));
        Assert.Empty(PerCpuTime.Read(root.Path).BusySince(PerCpuTime.Read(root.Path)));
    }
}
