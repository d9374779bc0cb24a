using System.Text;
using AIOps.Trace.Sources;

namespace AIOps.Trace.Tests.Unit;

/// <summary>The /proc parsers of the no-BPF mode, on text recorded from a 6.18 kernel.</summary>
public class ProcfsParsersTests
{
    internal const string Status = """
        Name:	sh
        Umask:	0022
        State:	R (running)
        Tgid:	26808
        Pid:	26808
        Threads:	1
        Cpus_allowed_list:	1
        voluntary_ctxt_switches:	3
        nonvoluntary_ctxt_switches:	1523

        """;

    // comm may hold spaces and parentheses: fields are counted after the last ')'.
    internal const string Stat = "26808 (my (odd) name) R 26802 26802 24907 0 -1 4194304 98 0 0 0 0 0 0 0 20 0 1 0 354204 3133440 410 18446744073709551615 94069577621504";

    internal const string HybridCgroup = """
        9:name=systemd:/
        8:pids:/
        4:memory:/process_api/27a47b
        3:cpuset:/
        2:cpuacct:/aiops-test-a
        1:cpu,cpuacct:/aiops-test-a
        0::/user.slice

        """;

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void Schedstat_gives_run_time_run_delay_and_timeslices()
    {
        Assert.True(ProcfsText.TryParseSchedStat(B("4306539 367963 2\n"), out SchedStat s));
        Assert.Equal(new SchedStat(4_306_539, 367_963, 2), s);
        Assert.False(ProcfsText.TryParseSchedStat(B("4306539 367963\n"), out _));
        Assert.False(ProcfsText.TryParseSchedStat(B(""), out _));
    }

    [Fact]
    public void Status_gives_nonvoluntary_switches_not_voluntary_ones()
    {
        Assert.True(ProcfsText.TryParseNonvoluntarySwitches(B(Status), out long n));
        Assert.Equal(1523, n);
        Assert.False(ProcfsText.TryParseNonvoluntarySwitches(B("Name:\tsh\nvoluntary_ctxt_switches:\t3\n"), out _));
    }

    [Fact]
    public void Stat_gives_field_22_start_time_even_with_parentheses_in_comm()
    {
        Assert.True(ProcfsText.TryParseStartTime(B(Stat), out long start));
        Assert.Equal(354_204, start);
        Assert.False(ProcfsText.TryParseStartTime(B("26808 (sh) R 1 2 3"), out _));
        Assert.False(ProcfsText.TryParseStartTime(B("no parenthesis"), out _));
    }

    [Fact]
    public void Uptime_is_converted_to_user_hz_ticks()
    {
        Assert.True(ProcfsText.TryParseUptimeTicks(B("3542.05 4000.52\n"), out long ticks));
        Assert.Equal(354_205, ticks);
        Assert.False(ProcfsText.TryParseUptimeTicks(B("soon"), out _));
    }

    [Fact]
    public void Cgroup_file_picks_the_v1_line_with_the_cpu_controller_on_a_hybrid_host()
    {
        Assert.True(ProcfsText.TryFindCpuCgroup(B(HybridCgroup), out ReadOnlySpan<byte> path));
        Assert.Equal("/aiops-test-a", Encoding.UTF8.GetString(path));
    }

    [Fact]
    public void Cgroup_file_falls_back_to_the_unified_line_on_a_v2_host()
    {
        Assert.True(ProcfsText.TryFindCpuCgroup(B("0::/kubepods.slice/pod-1/cri-containerd-ab.scope\n"), out ReadOnlySpan<byte> path));
        Assert.Equal("/kubepods.slice/pod-1/cri-containerd-ab.scope", Encoding.UTF8.GetString(path));
        // "cpuacct" or "cpuset" alone is not the cpu controller.
        Assert.False(ProcfsText.TryFindCpuCgroup(B("3:cpuset:/\n2:cpuacct:/a\n"), out _));
    }

    [Theory]
    [InlineData("1", 1)]
    [InlineData("4194304", 4_194_304)]
    [InlineData("self", 0)]
    [InlineData("12a", 0)]
    [InlineData("", 0)]
    public void Directory_names_that_are_not_ids_are_skipped(string name, int expected) =>
        Assert.Equal(expected, ProcfsReader.ParseId(name));
}
