using System.Globalization;
using System.Text.Json;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Tests.Shared;
using Xunit.Abstractions;

namespace AIOps.Trace.Tests.Kernel.Containers;

/// <summary>
/// The image under docker with the DaemonSet's settings (host PID namespace, the manifest's
/// capabilities and nothing more, read-only root, the host directories it mounts read-only under /host, --host-root
/// /host, all read from deploy/daemonset.yaml by <see cref="PodSettings"/>) names and measures
/// real containers that docker, podman and containerd (ctr) run beside it on this host.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class ContainerRuntimeTests(ContainerEngines engines, ITestOutputHelper output)
    : KernelTestBase, IClassFixture<ContainerEngines>
{
    private const string Spin = "while :; do :; done";
    private const string Tick = "while :; do sleep 0.05; done";

    [Fact]
    public void Names_containers_of_docker_podman_and_ctr_and_measures_a_capped_ones_throttling()
    {
        using var scratch = new TempDir("aiops-image-daemonset");
        PodSettings pod = PodSettings.Of("daemonset.yaml");
        string capped = engines.Name("docker", "capped"), podman = engines.Name("podman", "podman"), ctr = engines.Name("ctr", "ctr");
        Own(new Removal("docker", capped));
        Own(new Removal("podman", podman));
        Own(new Removal("ctr", ctr));
        Parallel.Invoke(
            () => Sh.Ok("docker", "run", "-d", "--name", capped, "--network", "none", "--cpus", "0.1", engines.WorkloadTag, "sh", "-c", Spin),
            () => Sh.Ok("podman", ["run", "-d", "--name", podman, "--network", "none", .. PodmanRlimits, engines.WorkloadTag, "sh", "-c", Tick], null),
            () => Sh.Ok("ctr", "-n", "default", "run", "-d", ContainerEngines.ContainerdRef(engines.WorkloadTag), ctr, "sh", "-c", Tick));
        string dockerId = Sh.Ok("docker", "inspect", "-f", "{{.Id}}", capped);
        string podmanId = Sh.Ok("podman", "inspect", "-f", "{{.Id}}", podman);
        string dockerCgroup = CpuCgroupOf(int.Parse(Sh.Ok("docker", "inspect", "-f", "{{.State.Pid}}", capped), CultureInfo.InvariantCulture));
        string podmanCgroup = CpuCgroupOf(int.Parse(Sh.Ok("podman", "inspect", "-f", "{{.State.Pid}}", podman), CultureInfo.InvariantCulture));
        string ctrCgroup = CpuCgroupOf(CtrPid(ctr));
        string cpuStat = CgroupMounts.Discover().ForController("cpu")!.PathOf(dockerCgroup, "cpu.stat");

        // The capped workload is frozen while the tracer takes its baseline, so the tracer's
        // baseline and the test's first reading of cpu.stat are the same value.
        Sh.Ok("docker", "pause", capped);
        Dictionary<string, long> before = SettledCpuStat(cpuStat);

        string tracer = engines.Name("docker", "tracer");
        Own(new Removal("docker", tracer));
        bool engineKnowsBpf = !Sh.Ok("docker", "version", "-f", "{{.Server.Version}}").StartsWith("20.", StringComparison.Ordinal);
        const string node = "node-under-test";
        List<string> flags = pod.DockerFlags(scratch.Path, node, engineKnowsBpf);
        Sh.Ok("docker", ["run", "-d", "--name", tracer, .. flags, engines.Tag, .. pod.Args], null);
        output.WriteLine("docker run " + string.Join(' ', flags) + " " + engines.Tag + " " + string.Join(' ', pod.Args));
        foreach (string s in pod.Substitutions)
            output.WriteLine("substituted: " + s);
        string logs() => Sh.Run("docker", "logs", tracer).ToString();

        int port = int.Parse(pod.Args[pod.Args.ToList().IndexOf("--listen") + 1].Split(':')[^1], CultureInfo.InvariantCulture);
        using var api = new ContainerApi(Sh.Ok("docker", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", tracer), port, pod.Token);
        Sh.Until(TimeSpan.FromSeconds(120), "the tracer's /readyz to answer 200", () => api.Status("readyz") == 200 ? "" : null, logs);
        Sh.Ok("docker", "unpause", capped);

        // Every runtime's container named as its runtime names it, the capped one diagnosed.
        JsonDocument seen = Sh.Until(TimeSpan.FromSeconds(90), "all three containers named and the capped one cap_throttled", () =>
        {
            JsonDocument list = api.Containers();
            bool done = ContainerApi.Find(list, dockerCgroup) is { } d && d.GetProperty("cpu_outcome").GetString() == "cap_throttled"
                && ContainerApi.Find(list, podmanCgroup) is not null && ContainerApi.Find(list, ctrCgroup) is not null;
            if (done)
                return list;
            list.Dispose();
            return null;
        }, () => api.Containers().RootElement.ToString() + "\n" + logs());
        using (seen)
        {
            Assert.Equal(node, seen.RootElement.GetProperty("node").GetString());
            AssertNamed(ContainerApi.Find(seen, dockerCgroup)!.Value, "docker", dockerId, capped);
            AssertNamed(ContainerApi.Find(seen, podmanCgroup)!.Value, "podman", podmanId, podman);
            AssertNamed(ContainerApi.Find(seen, ctrCgroup)!.Value, "containerd", ctr, ctr);
        }

        // Frozen again: cpu.stat stops; once a window has been cut wholly after that, the tracer's
        // cumulative throttled time covers exactly the kernel's change between the two freezes.
        Sh.Ok("docker", "pause", capped);
        Dictionary<string, long> after = SettledCpuStat(cpuStat);
        long pausedAt;
        using (JsonDocument now = api.Containers())
            pausedAt = ContainerApi.Seq(now);
        double throttledS = Sh.Until(TimeSpan.FromSeconds(30), "two windows cut after the pause", () =>
        {
            using JsonDocument list = api.Containers();
            return ContainerApi.Seq(list) >= pausedAt + 2
                ? (object)ContainerApi.Find(list, dockerCgroup)!.Value.GetProperty("cumulative").GetProperty("throttled_s").GetDouble()
                : null;
        }) is double cumulative ? cumulative : 0;
        double kernelS = (after["throttled_time"] - before["throttled_time"]) / 1e9;
        output.WriteLine($"throttled: tracer {throttledS:0.000} s, cpu.stat {kernelS:0.000} s");
        Assert.True(kernelS > 0.05, $"the capped container was throttled only {kernelS:0.000} s");
        Assert.InRange(throttledS, kernelS * 0.95, kernelS * 1.05);

        // SIGTERM (the kubelet's stop) detaches everything and ends the process cleanly.
        Sh.Ok("docker", "stop", "-t", "15", tracer);
        Assert.Equal("0", Sh.Ok("docker", "inspect", "-f", "{{.State.ExitCode}}", tracer));
        Assert.Contains("programs detached", Sh.Run("docker", "logs", tracer).Stdout, StringComparison.Ordinal);
    }

    /// <summary>podman's default RLIMIT_NOFILE/NPROC exceed this host's hard limits and cannot be raised without CAP_SYS_RESOURCE.</summary>
    internal static readonly string[] PodmanRlimits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"];

    private static void AssertNamed(JsonElement c, string runtime, string containerId, string name)
    {
        Assert.Equal(runtime, c.GetProperty("runtime").GetString());
        Assert.Equal(containerId, c.GetProperty("container_id").GetString());
        Assert.Equal(name, c.GetProperty("container").GetString());
    }

    /// <summary>The task's cgroup in the cpu hierarchy (v1 here; the unified one where cpu lives there).</summary>
    internal static string CpuCgroupOf(int pid)
    {
        foreach (string line in File.ReadAllLines($"/proc/{pid}/cgroup"))
        {
            string[] parts = line.Split(':', 3);
            if (parts[1].Split(',').Contains("cpu"))
                return parts[2];
        }
        return File.ReadAllLines($"/proc/{pid}/cgroup").Single(l => l.StartsWith("0::", StringComparison.Ordinal))[3..];
    }

    internal static int CtrPid(string name)
    {
        string line = Sh.Ok("ctr", "-n", "default", "task", "ls").Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return int.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

    /// <summary>cpu.stat once two reads 300 ms apart agree: a frozen group's last throttled period has ended.</summary>
    private static Dictionary<string, long> SettledCpuStat(string path)
    {
        Dictionary<string, long> last = Read(path);
        return Sh.Until(TimeSpan.FromSeconds(10), $"{path} to settle", () =>
        {
            Thread.Sleep(300);
            Dictionary<string, long> now = Read(path);
            bool same = now["throttled_time"] == last["throttled_time"] && now["nr_throttled"] == last["nr_throttled"];
            last = now;
            return same ? now : null;
        });
    }

    private static Dictionary<string, long> Read(string path) =>
        File.ReadAllLines(path).Select(l => l.Split(' ')).ToDictionary(p => p[0], p => long.Parse(p[1], CultureInfo.InvariantCulture));
}
