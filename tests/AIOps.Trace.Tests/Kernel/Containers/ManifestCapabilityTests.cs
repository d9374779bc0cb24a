using System.Text.Json;
using AIOps.Trace.Tests.Unit;
using Xunit.Abstractions;

namespace AIOps.Trace.Tests.Kernel.Containers;

/// <summary>
/// The published aiops-trace (the image's binary) run with exactly a manifest's capabilities:
/// setpriv limits the bounding set, so root (runAsUser: 0 in both manifests) holds those and no
/// other. What each command can do with them is checked against the kernel: eBPF loads (not the
/// procfs fallback), doctor sees the granted set, and the network diagnosis reads qdisc statistics
/// of a container's own network namespace (setns, CAP_SYS_ADMIN).
/// </summary>
public sealed class ManifestCapabilityTests(ITestOutputHelper output) : KernelTestBase
{
    private static readonly string[] AllCapabilities = ["CAP_BPF", "CAP_PERFMON", "CAP_SYS_ADMIN", "CAP_SYS_RESOURCE"];

    [Fact]
    public void DaemonSet_capabilities_load_ebpf_and_read_a_containers_qdisc_statistics()
    {
        PodSettings pod = PodSettings.Of("daemonset.yaml");
        IReadOnlyList<string> caps = pod.GrantableCapabilities(engineKnowsBpf: true);
        foreach (string s in pod.Substitutions)
            output.WriteLine("substituted: " + s);
        TestCgroup shaped = ShapedNamespace();

        JsonElement network = Network(Diagnose(caps, shaped));
        // The tree asked the qdisc: setns into the container's namespace worked.
        Assert.Contains(network.GetProperty("path").EnumerateArray(), s => s.GetProperty("metric").GetString() == "qdisc_drops_and_overlimits");

        using JsonDocument doctor = JsonDocument.Parse(RunAs(caps, "doctor", "--json").Stdout);
        JsonElement seen = doctor.RootElement.GetProperty("capabilities");
        foreach (string cap in AllCapabilities)
            Assert.Equal(caps.Contains(cap["CAP_".Length..]), seen.GetProperty(cap).GetBoolean());
    }

    [Fact]
    public void Without_CAP_SYS_ADMIN_ebpf_loads_but_the_network_tree_gets_no_qdisc_statistics()
    {
        // The manifests without CAP_SYS_ADMIN. libbpf 1.1 (Debian 12's, the image's) lists module
        // BTFs (BPF_BTF_GET_NEXT_ID, which needs CAP_SYS_ADMIN) only for a CO-RE relocation vmlinux
        // has no candidate for; the object has none on this kernel, so CAP_BPF and CAP_PERFMON load it.
        IReadOnlyList<string> caps = PodSettings.Of("daemonset.yaml").GrantableCapabilities(engineKnowsBpf: true).Where(c => c != "SYS_ADMIN").ToList();

        Sh.Result snapshot = RunAs(caps, "snapshot", "--duration", "1s", "--json");
        Assert.True(snapshot.ExitCode == 0, snapshot.ToString());
        using (JsonDocument doc = JsonDocument.Parse(snapshot.Stdout))
            Assert.Equal("tp_btf", doc.RootElement.GetProperty("kernel").GetProperty("attach").GetString());
        Assert.DoesNotContain("sampling procfs instead", snapshot.Stderr, StringComparison.Ordinal);

        // The network tree (procfs mode needs no BPF) cannot enter the container's namespace for its qdisc.
        TestCgroup shaped = ShapedNamespace();
        Sh.Result diagnose = RunAs(caps, "diagnose", "--mode", "procfs", "--duration", "2s", "--json", "--container", shaped.RelativePath);
        Assert.True(diagnose.ExitCode == 0, diagnose.ToString());
        JsonElement network = Network(diagnose);
        Assert.DoesNotContain(network.GetProperty("path").EnumerateArray(), s => s.GetProperty("metric").GetString() == "qdisc_drops_and_overlimits");
    }

    [Fact]
    public void Sidecar_capabilities_load_ebpf()
    {
        PodSettings pod = PodSettings.Of("sidecar.yaml");
        IReadOnlyList<string> caps = pod.GrantableCapabilities(engineKnowsBpf: true);
        Sh.Result r = RunAs(caps, "snapshot", "--duration", "1s", "--json");
        Assert.True(r.ExitCode == 0, r.ToString());
        using JsonDocument doc = JsonDocument.Parse(r.Stdout);
        Assert.NotEqual("procfs", doc.RootElement.GetProperty("kernel").GetProperty("attach").GetString());
        Assert.DoesNotContain("sampling procfs instead", r.Stderr, StringComparison.Ordinal);
    }

    /// <summary>A cgroup whose one task has its own network namespace with tbf-shaped interfaces (a veth pair: this kernel has no dummy driver).</summary>
    private TestCgroup ShapedNamespace()
    {
        TestCgroup cgroup = NewCgroup("netns");
        // It wakes every 100 ms, so the window lists it (diagnose names only cgroups that ran).
        Track(cgroup.Start("unshare --net sh -c 'ip link add v0 type veth peer name v1 && ip link set v0 up && ip link set v1 up && tc qdisc add dev v0 root tbf rate 1mbit burst 32kbit latency 400ms && tc qdisc add dev v1 root tbf rate 1mbit burst 32kbit latency 400ms && exec sh -c \"while :; do sleep 0.1; done\"'"));
        Sh.Until(TimeSpan.FromSeconds(20), "the shaped namespace's task", () =>
            cgroup.Pids().Any(p => Cmdline(p).Contains("while :", StringComparison.Ordinal)) ? "" : null);
        return cgroup;
    }

    private static string Cmdline(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline");
        }
        catch (IOException)
        {
            return ""; // a sleep that ended between the listing and the read
        }
    }

    private Sh.Result Diagnose(IReadOnlyList<string> caps, TestCgroup cgroup)
    {
        Sh.Result r = RunAs(caps, "diagnose", "--duration", "2s", "--json", "--container", cgroup.RelativePath);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.DoesNotContain("sampling procfs instead", r.Stderr, StringComparison.Ordinal);
        return r;
    }

    private static JsonElement Network(Sh.Result diagnose)
    {
        using JsonDocument doc = JsonDocument.Parse(diagnose.Stdout);
        return Assert.Single(doc.RootElement.GetProperty("containers").EnumerateArray()).GetProperty("network").Clone();
    }

    /// <summary>The published binary as root with only <paramref name="caps"/> (bounding set; nothing inheritable or ambient).</summary>
    private static Sh.Result RunAs(IReadOnlyList<string> caps, params string[] args)
    {
        string binary = Path.Combine(StructLayoutTests.RepoRoot(), "artifacts", "bin", "aiops-trace");
        Assert.True(File.Exists(binary), $"{binary} is missing: the Test target publishes it first");
        string set = "-all," + string.Join(',', caps.Select(c => "+" + c.ToLowerInvariant()));
        return Sh.Run("setpriv", ["--bounding-set", set, "--inh-caps", "-all", "--", binary, .. args], TimeSpan.FromSeconds(90));
    }
}
