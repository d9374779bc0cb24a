using AIOps.Trace.Bpf;
using AIOps.Trace.Cli;

namespace AIOps.Trace.Tests.Unit;

/// <summary>--throttle-hook: its parsing and the throttle programs each choice lets the loader try.</summary>
public sealed class ThrottleHookOptionTests
{
    [Theory]
    [InlineData(null, ThrottleHook.Auto)]
    [InlineData("auto", ThrottleHook.Auto)]
    [InlineData("fentry", ThrottleHook.Fentry)]
    [InlineData("kprobe", ThrottleHook.Kprobe)]
    [InlineData("none", ThrottleHook.None)]
    public void Each_value_selects_its_hook(string? value, ThrottleHook expected)
    {
        string[] args = value is null ? [] : ["--throttle-hook", value];

        EngineOptions options = Program.EngineOptions(Arguments.Parse(["snapshot", .. args]));

        Assert.Equal(expected, options.Tracer.ThrottleHook);
    }

    [Theory]
    [InlineData("kprobes")]
    [InlineData("FENTRY")]
    [InlineData("fexit")]
    public void An_unknown_hook_is_a_usage_error_listing_the_choices(string value)
    {
        var e = Assert.Throws<UsageException>(() => Program.EngineOptions(Arguments.Parse("snapshot", "--throttle-hook", value)));

        Assert.Equal($"--throttle-hook '{value}' is not known: expected auto, fentry, kprobe or none", e.Message);
    }

    [Theory]
    [InlineData("fentry")]
    [InlineData("kprobe")]
    public void A_forced_hook_with_procfs_mode_is_a_usage_error(string hook)
    {
        var e = Assert.Throws<UsageException>(() => Program.EngineOptions(Arguments.Parse("snapshot", "--throttle-hook", hook, "--mode", "procfs")));

        Assert.Equal($"--throttle-hook {hook} needs eBPF: --mode procfs loads no programs", e.Message);
    }

    [Fact]
    public void None_with_procfs_mode_is_accepted()
    {
        EngineOptions options = Program.EngineOptions(Arguments.Parse("snapshot", "--throttle-hook", "none", "--mode", "procfs"));

        Assert.Equal((EngineMode.Procfs, ThrottleHook.None), (options.Mode, options.Tracer.ThrottleHook));
    }

    [Fact]
    public void Auto_tries_fentry_then_kprobe_then_goes_without()
    {
        Assert.Equal([TierThrottleHook.Fentry, TierThrottleHook.Kprobe, TierThrottleHook.None], TierPolicy.HookOrder(ThrottleHook.Auto));
    }

    [Theory]
    [InlineData(ThrottleHook.Fentry, TierThrottleHook.Fentry)]
    [InlineData(ThrottleHook.Kprobe, TierThrottleHook.Kprobe)]
    [InlineData(ThrottleHook.None, TierThrottleHook.None)]
    public void A_forced_hook_is_the_only_one_tried(ThrottleHook hook, TierThrottleHook only)
    {
        Assert.Equal([only], TierPolicy.HookOrder(hook));
    }
}
