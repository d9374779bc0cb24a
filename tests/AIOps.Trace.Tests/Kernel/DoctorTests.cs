using System.Diagnostics;
using System.Text.Json;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>`aiops-trace doctor` run as a process on this machine, whose features PERF-NOTES.md records.</summary>
public sealed class DoctorTests : KernelTestBase
{
    private static (int ExitCode, string Stdout, string Stderr) Cli(params string[] args) => CliProcess.Run(args);

    [Fact]
    public void Doctor_json_reports_what_this_kernel_has()
    {
        (int code, string stdout, string stderr) = Cli("doctor", "--json");

        Assert.True(code == 0, stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement root = doc.RootElement;
        JsonElement features = root.GetProperty("features");
        bool Has(string name) => features.GetProperty(name).GetProperty("available").GetBoolean();
        string Why(string name) => features.GetProperty(name).GetProperty("detail").GetString()!;

        Assert.Equal(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), root.GetProperty("kernel_release").GetString());
        Assert.True(Has("btf"));
        Assert.True(Has("bpf_syscall"));
        Assert.True(Has("ringbuf"));
        Assert.True(Has("perf_event_array"));
        Assert.True(Has("tp_btf"));
        Assert.True(Has("raw_tp"));
        Assert.False(Has("kprobes"));
        Assert.Contains("CONFIG_KPROBES", Why("kprobes"));
        Assert.False(Has("fentry"));
        Assert.Contains("EPERM", Why("fentry"));
        // 6.x runs a raw_tp program on a given CPU: windows can be cut, so eBPF is the tier.
        Assert.True(Has("window_flush"), Why("window_flush"));
        Assert.Equal("hybrid", root.GetProperty("cgroups").GetProperty("layout").GetString());
        Assert.Contains(root.GetProperty("cgroups").GetProperty("controllers").EnumerateArray(),
            c => c.GetProperty("controller").GetString() == "cpu" && c.GetProperty("version").GetInt32() == 1);
        Assert.True(root.GetProperty("capabilities").GetProperty("CAP_SYS_ADMIN").GetBoolean());

        JsonElement tier = root.GetProperty("tier");
        Assert.Equal("ebpf", tier.GetProperty("mode").GetString());
        Assert.Equal("tp_btf", tier.GetProperty("attach").GetString());
        Assert.Equal("ringbuf", tier.GetProperty("transport").GetString());
        Assert.Equal("cgroupfs", tier.GetProperty("throttle_source").GetString());
        Assert.Equal("none", tier.GetProperty("throttle_hook").GetString());
        Assert.Contains(tier.GetProperty("cannot_measure").EnumerateArray(), g => g.GetString()!.Contains("cpu.stat"));
        // What the loader tried before tp_btf without a hook: fentry, refused here with EPERM.
        Assert.Contains(tier.GetProperty("tried").EnumerateArray(), t => t.GetProperty("attach").GetString() == "tp_btf"
            && t.GetProperty("throttle_hook").GetString() == "fentry" && t.GetProperty("failure").GetString()!.Contains("EPERM"));
        // The probe load was undone: the base class checks no program is left.
    }

    [Fact]
    public void Doctor_text_says_yes_or_no_per_feature()
    {
        (int code, string stdout, string stderr) = Cli("doctor");

        Assert.True(code == 0, stderr);
        Assert.Matches(@"(?m)^btf\s+yes\s", stdout);
        Assert.Matches(@"(?m)^kprobes\s+no\s", stdout);
        Assert.Matches(@"(?m)^chosen tier\s+eBPF: ringbuf \+ tp_btf", stdout);
    }

    [Fact]
    public void Doctor_rejects_unknown_options()
    {
        (int code, string stdout, string stderr) = Cli("doctor", "--bogus", "1");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("unknown option --bogus", stderr);
    }
}
