using System.Text.Json;
using AIOps.Trace.Bpf;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// A forced throttle hook on this kernel, which refuses fentry (EPERM) and has no kprobes: each
/// forced hook is one clear line and exit code 2 (never a silent procfs fallback), and `none`
/// traces with cpu.stat as the only throttle source.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ThrottleHookTests : KernelTestBase
{
    [Theory]
    [InlineData("fentry", "the kernel refuses it")]
    [InlineData("kprobe", "the kernel has no kprobes (CONFIG_KPROBES unset)")]
    public void A_hook_the_kernel_cannot_do_is_one_line_naming_it_and_exit_code_2(string hook, string why)
    {
        // The default mode (auto) too: a forced hook must not fall back to procfs sampling.
        (int code, string stdout, string stderr) = CliProcess.Run("snapshot", "--duration", "1s", "--json", "--throttle-hook", hook);

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"aiops-trace: throttle hook {hook} is not available on kernel {KernelInfo.Release}: {why}", line);
        Assert.DoesNotContain("   at ", stderr);
        Assert.Empty(BpfState.OurProgramsAfterRelease());
    }

    [Fact]
    public void The_library_throws_the_hook_exception_and_leaves_nothing_loaded()
    {
        foreach (ThrottleHook hook in new[] { ThrottleHook.Fentry, ThrottleHook.Kprobe })
        {
            var e = Assert.Throws<BpfThrottleHookException>(() =>
                StartEngine(new EngineOptions { Mode = EngineMode.Auto, Tracer = new TracerOptions { ThrottleHook = hook } }));
            Assert.Equal(hook.ToString().ToLowerInvariant(), e.Hook);
        }
        Assert.Empty(BpfState.OurProgramsAfterRelease());
    }

    [Fact]
    public void None_traces_with_cpu_stat_as_the_throttle_source()
    {
        TestCgroup web = NewCgroup("hook-none");
        web.WriteCpu("cpu.cfs_period_us", "100000");
        web.WriteCpu("cpu.cfs_quota_us", "20000");
        var loop = Track(web.Start(TestCgroup.BusyLoop));

        (int code, string stdout, string stderr) = CliProcess.Run("snapshot", "--duration", "2s", "--json", "--throttle-hook", "none",
            "--cgroup", web.RelativePath);
        loop.Kill();
        loop.WaitForExit();

        Assert.True(code == 0, stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement kernel = doc.RootElement.GetProperty("kernel");
        Assert.Equal("ringbuf", kernel.GetProperty("ring").GetString()); // eBPF, not procfs
        Assert.Equal("cgroupfs", kernel.GetProperty("throttle_source").GetString());
        Assert.Equal("none", kernel.GetProperty("throttle_hook").GetString());
        Assert.StartsWith("throttle hook none forced", kernel.GetProperty("throttle_note").GetString());
        JsonElement container = Assert.Single(doc.RootElement.GetProperty("containers").EnumerateArray(),
            c => c.GetProperty("cgroup").GetString() == web.RelativePath);
        JsonElement throttling = container.GetProperty("throttling");
        // A 20% quota on a busy loop for 2 s: throttled in most periods, counted from cpu.stat alone.
        Assert.True(throttling.GetProperty("throttled_periods").GetInt64() >= 5, throttling.ToString());
        Assert.Equal(0, throttling.GetProperty("events").GetInt64());
        Assert.Equal("cgroupfs", throttling.GetProperty("source").GetString());
    }
}
