using System.Diagnostics;
using System.Text.Json;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>The aiops-trace command line, run as a separate process as users run it.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CliTests : KernelTestBase
{
    private static (int ExitCode, string Stdout, string Stderr) Cli(params string[] args) => CliProcess.Run([], args);

    private static (int ExitCode, string Stdout, string Stderr) Run(string[] prefix, string[] args) => CliProcess.Run(prefix, args);

    [Theory]
    [InlineData("--duration", "abc", "--duration 'abc' is not a duration")]
    [InlineData("--duration", "0s", "--duration 0s is out of range")]
    [InlineData("--cgroup", "/aiops-no-such-cgroup", "cgroup '/aiops-no-such-cgroup' does not exist")]
    [InlineData("--attach", "kprobe", "--attach 'kprobe' is not known")]
    [InlineData("--mode", "bpf", "--mode 'bpf' is not known: expected auto, ebpf or procfs")]
    [InlineData("--transport", "bpf", "--transport 'bpf' is not known: expected auto, ringbuf or perfbuf")]
    [InlineData("--bogus", "1", "unknown option --bogus")]
    [InlineData("--host-root", "/aiops-no-such-dir", "--host-root '/aiops-no-such-dir' is not a directory")]
    public void Bad_input_is_one_line_on_stderr_and_exit_code_2(string option, string value, string expected)
    {
        (int code, string stdout, string stderr) = Cli("snapshot", "--duration", "1s", option, value);

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("aiops-trace: ", line);
        Assert.Contains(expected, line);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public void Without_privileges_it_says_what_is_needed()
    {
        // The same binary as user nobody with every capability dropped.
        string home = Directory.CreateTempSubdirectory("aiops-nobody-").FullName;
        try
        {
            File.SetUnixFileMode(home, (UnixFileMode)0x1FF);
            var env = new[] { "env", $"DOTNET_CLI_HOME={home}", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all" };
            (int code, string stdout, string stderr) = Run(env, ["snapshot", "--duration", "1s", "--mode", "ebpf"]);

            Assert.Equal(2, code);
            Assert.Equal("", stdout);
            Assert.Equal("aiops-trace: tracing needs root, or CAP_BPF and CAP_PERFMON: run with sudo or grant the capabilities", stderr.Trim());
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    [Fact]
    public void Without_privileges_auto_mode_samples_procfs_and_says_so_once()
    {
        // procfs mode reads only world-readable files: user nobody gets a snapshot, not an error.
        string home = Directory.CreateTempSubdirectory("aiops-nobody-").FullName;
        try
        {
            File.SetUnixFileMode(home, (UnixFileMode)0x1FF);
            var env = new[] { "env", $"DOTNET_CLI_HOME={home}", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all" };
            (int code, string stdout, string stderr) = Run(env, ["snapshot", "--duration", "1s", "--json"]);

            Assert.True(code == 0, stderr);
            string notice = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal("aiops-trace: tracing needs root, or CAP_BPF and CAP_PERFMON: run with sudo or grant the capabilities; sampling procfs instead (lower resolution)", notice);
            using JsonDocument doc = JsonDocument.Parse(stdout);
            JsonElement kernel = doc.RootElement.GetProperty("kernel");
            Assert.Equal("procfs", kernel.GetProperty("attach").GetString());
            Assert.Equal("none", kernel.GetProperty("ring").GetString());
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    [Fact]
    public void Procfs_mode_json_carries_unattributed_preemptions()
    {
        TestCgroup web = NewCgroup("cli-pf");
        Track(web.Start(TestCgroup.BusyLoop, cpu: 1));
        Track(web.Start(TestCgroup.BusyLoop, cpu: 1));

        (int code, string stdout, string stderr) = Cli("snapshot", "--duration", "2s", "--json", "--mode", "procfs", "--cgroup", web.RelativePath);

        Assert.True(code == 0, stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        Assert.Equal("procfs", doc.RootElement.GetProperty("kernel").GetProperty("attach").GetString());
        JsonElement c = Assert.Single(doc.RootElement.GetProperty("containers").EnumerateArray());
        JsonElement p = c.GetProperty("preemptions");
        Assert.True(p.GetProperty("involuntary").GetInt64() > 50, p.ToString());
        Assert.Equal(p.GetProperty("involuntary").GetInt64(), p.GetProperty("by_unknown").GetInt64());
        Assert.True(c.GetProperty("runq_latency_us").GetProperty("count").GetInt64() > 50);
    }

    [Fact]
    public void Snapshot_with_transport_perfbuf_reports_the_perf_buffer()
    {
        (int code, string stdout, string stderr) = Cli("snapshot", "--duration", "1s", "--json", "--transport", "perfbuf");

        Assert.True(code == 0, stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        Assert.Equal("perfbuf", doc.RootElement.GetProperty("kernel").GetProperty("ring").GetString());
        Assert.Equal(0, doc.RootElement.GetProperty("lost_events").GetInt64());
    }

    [Fact]
    public void Unknown_command_is_a_usage_error()
    {
        (int code, _, string stderr) = Cli("frobnicate");
        Assert.Equal(2, code);
        Assert.Contains("unknown command 'frobnicate'", stderr);
    }

    [Fact]
    public void Snapshot_json_reports_the_named_cgroup_with_every_section()
    {
        TestCgroup web = NewCgroup("cli");
        web.WriteCpu("cpu.cfs_quota_us", "30000");
        Track(web.Start(TestCgroup.BusyLoop));

        (int code, string stdout, string stderr) = Cli("snapshot", "--duration", "2s", "--json", "--cgroup", web.RelativePath);

        Assert.True(code == 0, stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement root = doc.RootElement;
        Assert.Equal("ringbuf", root.GetProperty("kernel").GetProperty("ring").GetString());
        Assert.Equal("tp_btf", root.GetProperty("kernel").GetProperty("attach").GetString());
        Assert.Equal(Environment.ProcessorCount, root.GetProperty("host").GetProperty("cpus").GetInt32());
        Assert.InRange(root.GetProperty("window_s").GetDouble(), 1.9, 4);
        Assert.Equal(0, root.GetProperty("lost_events").GetInt64());
        JsonElement c = Assert.Single(root.GetProperty("containers").EnumerateArray());
        Assert.Equal(web.RelativePath, c.GetProperty("cgroup").GetString());
        Assert.Equal("cgroup", c.GetProperty("runtime").GetString());
        Assert.Equal(web.RelativePath.TrimStart('/'), c.GetProperty("name").GetString());
        JsonElement rq = c.GetProperty("runq_latency_us");
        Assert.True(rq.GetProperty("count").GetInt64() > 0);
        Assert.True(rq.GetProperty("p99").GetDouble() >= rq.GetProperty("p50").GetDouble());
        JsonElement lastBucket = rq.GetProperty("buckets").EnumerateArray().Last();
        Assert.Equal(rq.GetProperty("count").GetInt64(), lastBucket.GetProperty("count").GetInt64());
        JsonElement throttling = c.GetProperty("throttling");
        Assert.True(throttling.GetProperty("throttled_periods").GetInt64() > 5);
        Assert.Equal("cgroupfs", throttling.GetProperty("source").GetString());
        Assert.InRange(c.GetProperty("cpu_usage_ns").GetInt64(), 0.3e9, 1.0e9);
        Assert.True(c.GetProperty("preemptions").GetProperty("involuntary").GetInt64() >= 0);
    }
}
