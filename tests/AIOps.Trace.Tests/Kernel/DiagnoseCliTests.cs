using System.Diagnostics;
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
        Assert.Equal(capped.RelativePath, c.GetProperty("cgroup").GetString());
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

    [Fact]
    public void An_idle_container_is_decided_and_a_parent_of_containers_is_none()
    {
        TestCgroup pod = NewCgroup("diag-pod");
        TestCgroup idle = Own(pod.CreateChild("idle"));
        Process sleeper = Track(idle.Start("sleep 600"));
        // Once the shell has exec'd sleep, nothing of the container runs.
        var waited = Stopwatch.StartNew();
        while (File.ReadAllText($"/proc/{sleeper.Id}/comm").Trim() != "sleep" && waited.Elapsed < TimeSpan.FromSeconds(10))
            Thread.Sleep(20);
        // exec is not the end of the start: the loader and libc still run after comm changes. Idle
        // is when the kernel's own counter stops moving.
        long usageBefore = long.Parse(idle.Read("cpuacct", "cpuacct.usage"));
        for (long last = -1; usageBefore != last && waited.Elapsed < TimeSpan.FromSeconds(20); usageBefore = long.Parse(idle.Read("cpuacct", "cpuacct.usage")))
        {
            last = usageBefore;
            Thread.Sleep(300);
        }

        (int code, string stdout, string stderr) = CliProcess.Run("diagnose", "--duration", "2s", "--json", "--container", idle.RelativePath);

        Assert.True(code == 0, stderr);
        Assert.Equal(usageBefore, long.Parse(idle.Read("cpuacct", "cpuacct.usage"))); // the kernel agrees: it used no CPU
        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement c = Assert.Single(doc.RootElement.GetProperty("containers").EnumerateArray());
        Assert.Equal(idle.RelativePath, c.GetProperty("cgroup").GetString());
        JsonElement cpu = c.GetProperty("cpu");
        Assert.Equal("not_throttled", cpu.GetProperty("outcome").GetString());
        Assert.Contains("idle", cpu.GetProperty("summary").GetString());
        Assert.Equal(0, c.GetProperty("cpu_evidence").GetProperty("cpu_usage_cores").GetDouble());

        (int parentCode, string parentOut, string parentErr) = CliProcess.Run("diagnose", "--duration", "1s", "--container", pod.RelativePath);

        Assert.Equal(2, parentCode);
        Assert.Equal("", parentOut);
        string line = Assert.Single(parentErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"aiops-trace: cgroup '{pod.RelativePath}' is a parent of containers, not a container", line);
        Assert.Contains(idle.RelativePath, line);
    }
}
