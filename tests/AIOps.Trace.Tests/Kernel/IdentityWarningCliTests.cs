using System.Text.Json;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// The CLI on a host root (--host-root) whose /var/log/pods cannot serve: the snapshot still
/// comes out, names fall back to the cgroup path, and the reason is one warning line on stderr.
/// </summary>
public sealed class IdentityWarningCliTests : KernelTestBase
{
    private sealed class FakeRoot : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("aiops-root-").FullName;

        public FakeRoot()
        {
            // The host's /proc and /sys as a sidecar would see them; its own var/log.
            File.CreateSymbolicLink(System.IO.Path.Combine(Path, "proc"), "/proc");
            File.CreateSymbolicLink(System.IO.Path.Combine(Path, "sys"), "/sys");
            Directory.CreateDirectory(System.IO.Path.Combine(Path, "var/log"));
        }

        public string Pods => System.IO.Path.Combine(Path, "var/log/pods");

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }

    [Theory]
    [InlineData("file", "it is a file, not a directory")]
    [InlineData("dangling", "it is a symlink to /nonexistent/pods that does not resolve (dangling, or a loop)")]
    public void An_unusable_var_log_pods_is_one_warning_and_the_snapshot_still_comes(string kind, string why)
    {
        FakeRoot root = Own(new FakeRoot());
        if (kind == "file")
            File.WriteAllText(root.Pods, "not a directory");
        else
            File.CreateSymbolicLink(root.Pods, "/nonexistent/pods");
        TestCgroup cg = NewCgroup("warn");
        Track(cg.Start(TestCgroup.BusyLoop));

        (int code, string stdout, string stderr) = CliProcess.Run("snapshot", "--mode", "procfs", "--duration", "500ms", "--json",
            "--host-root", root.Path, "--cgroup", cg.RelativePath);

        Assert.True(code == 0, stderr);
        string warning = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"aiops-trace: warning: cannot list {root.Pods}: {why}; the names it holds are unknown, identity comes from the cgroup path alone", warning);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement c = Assert.Single(doc.RootElement.GetProperty("containers").EnumerateArray());
        Assert.Equal(cg.RelativePath, c.GetProperty("cgroup").GetString());
        Assert.Equal(AIOps.Trace.Cgroups.ContainerNaming.FromPath(cg.RelativePath).Name, c.GetProperty("name").GetString());
    }
}
