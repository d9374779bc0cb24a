using System.Text.Json;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>`aiops-trace diagnose` run as a process: every resource's verdict per container, and bad names.</summary>
public sealed class DiagnoseCliTests : KernelTestBase
{
    [Fact]
    public void Json_gives_every_resource_for_a_capped_container()
    {
        TestCgroup capped = NewCgroup("diag-cap");
        capped.WriteCpu("cpu.cfs_quota_us", "20000");
        Track(capped.Start(TestCgroup.BusyLoop));

        (int code, string stdout, string stderr) = CliProcess.Run("diagnose", "--duration", "3s", "--json", "--container", capped.RelativePath);

        Assert.True(code == 0, stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement c = Assert.Single(doc.RootElement.GetProperty("containers").EnumerateArray());
        Assert.Equal(capped.RelativePath, c.GetProperty("cgroup_path").GetString());
        Assert.False(c.GetProperty("ended").GetBoolean());
        JsonElement cpu = c.GetProperty("cpu");
        Assert.Equal("cap_throttled", cpu.GetProperty("outcome").GetString());
        JsonElement first = cpu.GetProperty("path")[0];
        Assert.True(first.GetProperty("result").GetBoolean());
        Assert.True(first.GetProperty("value").GetDouble() >= first.GetProperty("threshold").GetDouble());
        foreach (string resource in new[] { "memory", "disk", "network" })
        {
            JsonElement r = c.GetProperty(resource);
            string outcome = r.GetProperty("outcome").GetString()!;
            Assert.False(string.IsNullOrEmpty(outcome), resource);
            if (outcome == "undecidable")
                Assert.False(string.IsNullOrEmpty(r.GetProperty("undecidable_reason").GetString()), resource);
        }
        // A busy loop with no limit pressure and its own (host) network namespace.
        Assert.Equal("not_limited", c.GetProperty("memory").GetProperty("outcome").GetString());
        Assert.Equal("undecidable", c.GetProperty("network").GetProperty("outcome").GetString());
    }

    [Fact]
    public void An_unknown_container_lists_close_matches_and_exits_2()
    {
        TestCgroup near = NewCgroup("diag-near");
        Track(near.Start(TestCgroup.BusyLoop));
        string typo = near.RelativePath.TrimStart('/') + "x";

        (int code, string stdout, string stderr) = CliProcess.Run("diagnose", "--duration", "1s", "--container", typo);

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"aiops-trace: no container '{typo}' on this host; closest: ", line);
        Assert.Contains(near.RelativePath, line);
    }
}
