using System.Diagnostics;
using AIOps.Trace.Tests.Kernel;
using YamlDotNet.RepresentationModel;

namespace AIOps.Trace.Tests.Unit;

/// <summary>
/// deploy/: the Kubernetes manifests parse and carry what the tracer needs (there is no cluster
/// here, so the contract is checked field by field); the Dockerfile copies only what exists;
/// the sidecar's pod scoping finds a pod's containers in both kubelet cgroup layouts.
/// The probe paths are requested from a running server in DashboardTests.
/// </summary>
public sealed class DeployManifestTests
{
    internal static string Deploy(string file) => Path.Combine(StructLayoutTests.RepoRoot(), "deploy", file);

    internal static YamlMappingNode Load(string file)
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Deploy(file)))
            yaml.Load(reader);
        return (YamlMappingNode)Assert.Single(yaml.Documents).RootNode;
    }

    /// <summary>A container's probe: an httpGet path, or an exec command (its path is the URL's).</summary>
    internal sealed record Probe(string Name, string Path, IReadOnlyList<string>? Exec);

    /// <summary>The probes (liveness, readiness) of every container in a manifest.</summary>
    internal static IReadOnlyList<Probe> Probes(string file)
    {
        YamlMappingNode podSpec = PodSpec(Load(file));
        var probes = new List<Probe>();
        foreach (YamlMappingNode c in Seq(podSpec, "containers").Children.Cast<YamlMappingNode>())
        {
            foreach (string name in new[] { "livenessProbe", "readinessProbe" }.Where(p => c.Children.ContainsKey(p)))
            {
                YamlMappingNode probe = Map(c, name);
                if (probe.Children.ContainsKey("httpGet"))
                {
                    probes.Add(new Probe(name, Str(Map(probe, "httpGet"), "path"), null));
                    continue;
                }
                string[] command = Seq(Map(probe, "exec"), "command").Children.Select(n => n.ToString()).ToArray();
                System.Text.RegularExpressions.Match url = System.Text.RegularExpressions.Regex.Match(string.Join(' ', command), @"http://127\.0\.0\.1:\d+(/\S*)");
                Assert.True(url.Success, $"{file}: {name} exec names no loopback URL: {string.Join(' ', command)}");
                probes.Add(new Probe(name, url.Groups[1].Value, command));
            }
        }
        return probes;
    }

    [Fact]
    public void DaemonSet_runs_on_the_host_pid_namespace_with_capabilities_not_privileged()
    {
        YamlMappingNode root = Load("daemonset.yaml");
        Assert.Equal("apps/v1", Str(root, "apiVersion"));
        Assert.Equal("DaemonSet", Str(root, "kind"));
        YamlMappingNode spec = Map(root, "spec");
        YamlMappingNode template = Map(spec, "template");
        Assert.Equal(Str(Map(Map(spec, "selector"), "matchLabels"), "app.kubernetes.io/name"),
                     Str(Map(Map(template, "metadata"), "labels"), "app.kubernetes.io/name"));
        YamlMappingNode pod = PodSpec(root);
        Assert.Equal("true", Str(pod, "hostPID"));

        YamlMappingNode c = TracerContainer(pod);
        YamlMappingNode security = Map(c, "securityContext");
        Assert.Equal("false", Str(security, "privileged"));
        string[] added = Seq(Map(security, "capabilities"), "add").Children.Select(n => n.ToString()).ToArray();
        // SYS_ADMIN for the network probe's setns(2) into other containers' namespaces (qdisc statistics).
        Assert.Equal(["BPF", "DAC_READ_SEARCH", "PERFMON", "SYS_ADMIN", "SYS_PTRACE", "SYS_RESOURCE"], added.Order());
        Assert.Equal(["ALL"], Seq(Map(security, "capabilities"), "drop").Children.Select(n => n.ToString()));
        // The privileged variant for old kernels is documented beside it, commented out.
        Assert.Contains("#     privileged: true", File.ReadAllText(Deploy("daemonset.yaml")));
    }

    [Theory]
    [InlineData("daemonset.yaml", new[] { "/sys/fs/cgroup", "/sys/kernel/btf", "/sys/kernel/tracing", "/sys/kernel/debug", "/var/log/pods", "/proc",
        "/var/log/containers", "/run/containerd/io.containerd.runtime.v2.task", "/var/lib/docker/containers", "/run/containers/storage",
        "/var/lib/containers/storage/overlay-containers" })]
    [InlineData("sidecar.yaml", new[] { "/sys/fs/cgroup", "/sys/kernel/btf", "/sys/kernel/tracing", "/proc", "/var/log/pods" })]
    public void Host_paths_are_mounted_read_only(string file, string[] hostPaths)
    {
        YamlMappingNode pod = PodSpec(Load(file));
        Dictionary<string, string> volumes = Seq(pod, "volumes").Children.Cast<YamlMappingNode>()
            .Where(v => v.Children.ContainsKey("hostPath"))
            .ToDictionary(v => Str(Map(v, "hostPath"), "path"), v => Str(v, "name"));
        List<YamlMappingNode> mounts = Seq(TracerContainer(pod), "volumeMounts").Children.Cast<YamlMappingNode>().ToList();
        foreach (string hostPath in hostPaths)
        {
            Assert.True(volumes.TryGetValue(hostPath, out string? volume), $"{file}: no hostPath volume for {hostPath}");
            // A volume may be mounted twice (at its own path and under --host-root), read-only each time.
            List<YamlMappingNode> mountsOfVolume = mounts.Where(m => Str(m, "name") == volume).ToList();
            Assert.NotEmpty(mountsOfVolume);
            Assert.All(mountsOfVolume, mount => Assert.Equal("true", Str(mount, "readOnly")));
        }
        // Never the host's whole /: a sidecar reads a few directories, and mounts only those.
        Assert.DoesNotContain("/", volumes.Keys);
        // Beside them, only the verdict database's directory (written: operators' labels stay on the node).
        Assert.Equal(volumes.Keys.Order(), hostPaths.Concat(file == "daemonset.yaml" ? ["/var/lib/aiops-trace"] : []).Order());
        // Every mount names a declared volume.
        HashSet<string> declared = Seq(pod, "volumes").Children.Cast<YamlMappingNode>().Select(v => Str(v, "name")).ToHashSet();
        Assert.All(mounts, m => Assert.Contains(Str(m, "name"), declared));
    }

    [Theory]
    [InlineData("daemonset.yaml")]
    [InlineData("sidecar.yaml")]
    public void The_verdict_database_directory_is_a_writable_volume_under_the_read_only_root(string file)
    {
        YamlMappingNode pod = PodSpec(Load(file));
        YamlMappingNode mount = Assert.Single(Seq(TracerContainer(pod), "volumeMounts").Children.Cast<YamlMappingNode>(),
            m => Str(m, "mountPath") == "/var/lib/aiops-trace");
        Assert.False(mount.Children.ContainsKey("readOnly"), $"{file}: the verdict database must be writable");
        Assert.Contains(Seq(pod, "volumes").Children.Cast<YamlMappingNode>(), v => Str(v, "name") == Str(mount, "name"));
    }

    [Theory]
    [InlineData("daemonset.yaml")]
    [InlineData("sidecar.yaml")]
    public void Probes_scrape_annotations_and_ports_agree(string file)
    {
        YamlMappingNode root = Load(file);
        YamlMappingNode pod = PodSpec(root);
        YamlMappingNode c = TracerContainer(pod);
        YamlMappingNode port = Assert.Single(Seq(c, "ports").Children.Cast<YamlMappingNode>());
        Assert.Equal("http", Str(port, "name"));
        string containerPort = Str(port, "containerPort");

        // Liveness: /healthz, which needs no token. Readiness: /readyz, which does, so an exec probe
        // that reads the token from the mounted secret (an httpGet probe carries only literal headers).
        Assert.Equal("/healthz", Str(Map(Map(c, "livenessProbe"), "httpGet"), "path"));
        Assert.Equal("http", Str(Map(Map(c, "livenessProbe"), "httpGet"), "port"));
        Probe ready = Assert.Single(Probes(file), p => p.Name == "readinessProbe");
        Assert.Equal("/readyz", ready.Path);
        Assert.NotNull(ready.Exec);
        string readyCommand = string.Join(' ', ready.Exec!);
        Assert.Contains($"http://127.0.0.1:{containerPort}/readyz", readyCommand);

        YamlMappingNode metadata = Str(root, "kind") == "DaemonSet" ? Map(Map(Map(root, "spec"), "template"), "metadata") : Map(root, "metadata");
        YamlMappingNode annotations = Map(metadata, "annotations");
        Assert.Equal("true", Str(annotations, "prometheus.io/scrape"));
        Assert.Equal(containerPort, Str(annotations, "prometheus.io/port"));
        Assert.Equal("/metrics", Str(annotations, "prometheus.io/path"));

        // serve listens where the port says, on all addresses, and so must have its token.
        string[] args = Seq(c, "args").Children.Select(n => n.ToString()).ToArray();
        int listen = Array.IndexOf(args, "--listen");
        Assert.True(listen >= 0 && listen + 1 < args.Length, string.Join(' ', args));
        Assert.Equal("0.0.0.0:" + containerPort, args[listen + 1]);
        int token = Array.IndexOf(args, "--token-file");
        Assert.True(token >= 0, "binding all addresses needs --token-file");
        Assert.Contains($"Authorization: Bearer $(cat {args[token + 1]})", readyCommand);
        string tokenDir = Path.GetDirectoryName(args[token + 1])!;
        YamlMappingNode tokenMount = Assert.Single(Seq(c, "volumeMounts").Children.Cast<YamlMappingNode>(), m => Str(m, "mountPath") == tokenDir);
        YamlMappingNode tokenVolume = Assert.Single(Seq(pod, "volumes").Children.Cast<YamlMappingNode>(), v => Str(v, "name") == Str(tokenMount, "name"));
        Assert.True(tokenVolume.Children.ContainsKey("secret"));

        Assert.True(Map(Map(c, "resources"), "limits").Children.ContainsKey("memory"));
        Assert.True(Map(Map(c, "resources"), "requests").Children.ContainsKey("cpu"));
    }

    [Fact]
    public void Sidecar_shares_the_process_namespace_and_scopes_itself_to_its_pod()
    {
        YamlMappingNode root = Load("sidecar.yaml");
        Assert.Equal("Pod", Str(root, "kind"));
        YamlMappingNode pod = PodSpec(root);
        Assert.Equal("true", Str(pod, "shareProcessNamespace"));
        Assert.False(pod.Children.ContainsKey("hostPID"));
        Assert.True(Seq(pod, "containers").Children.Count >= 2, "a workload and the tracer");
        YamlMappingNode c = TracerContainer(pod);
        Assert.Equal("/opt/aiops-trace/pod-scope.sh", Assert.Single(Seq(c, "command").Children).ToString());
        YamlMappingNode env = Assert.Single(Seq(c, "env").Children.Cast<YamlMappingNode>(), e => Str(e, "name") == "POD_UID");
        Assert.Equal("metadata.uid", Str(Map(Map(env, "valueFrom"), "fieldRef"), "fieldPath"));
        Assert.Equal("false", Str(Map(c, "securityContext"), "privileged"));
    }

    [Fact]
    public void Dockerfile_is_multi_stage_and_copies_only_what_exists()
    {
        string root = StructLayoutTests.RepoRoot();
        string[] lines = File.ReadAllLines(Deploy("Dockerfile"));
        List<string> stages = lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(w => w.Length >= 4 && w[2] == "AS" ? w[3] : "").ToList();
        Assert.Equal(["bpf", "build", "runtime"], stages);
        foreach (string line in lines.Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from=", StringComparison.Ordinal)))
        {
            string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToArray();
            foreach (string source in words[..^1])
                Assert.True(File.Exists(Path.Combine(root, source)) || Directory.Exists(Path.Combine(root, source)), $"Dockerfile copies {source}, which does not exist");
        }
        string runtime = string.Join('\n', lines.SkipWhile(l => !l.Contains("AS runtime", StringComparison.Ordinal)));
        foreach (string lib in new[] { "libbpf1", "libelf1", "zlib1g", "libsvm3" })
            Assert.Contains(lib, runtime);
        Assert.DoesNotContain("dotnet/sdk", runtime);
        Assert.Contains("PublishAot=true", string.Join('\n', lines));
    }

    [Theory]
    [InlineData("systemd", "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{U}.slice", "cri-containerd-aaa.scope", "cri-containerd-bbb.scope")]
    [InlineData("cgroupfs", "kubepods/besteffort/pod{uid}", "aaa", "bbb")]
    [InlineData("guaranteed", "kubepods.slice/kubepods-pod{U}.slice", "cri-containerd-aaa.scope", "crio-bbb.scope")]
    [InlineData("podman", "libpod_parent/{uid}", "libpod-aaa", "libpod-bbb")]
    public void Pod_scope_lists_only_its_own_pods_containers(string layout, string podDir, string first, string second)
    {
        const string uid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", other = "11111111-2222-3333-4444-555555555555";
        string root = Directory.CreateTempSubdirectory("aiops-podscope-" + layout).FullName;
        try
        {
            string Dir(string u) => podDir.Replace("{U}", u.Replace('-', '_'), StringComparison.Ordinal).Replace("{uid}", u, StringComparison.Ordinal);
            foreach (string c in new[] { first, second })
                Directory.CreateDirectory(Path.Combine(root, "cpu", Dir(uid), c));
            Directory.CreateDirectory(Path.Combine(root, "cpu", Dir(other), "cri-containerd-ccc.scope"));

            var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(Deploy("pod-scope.sh"));
            psi.ArgumentList.Add("--list");
            psi.Environment["CGROUP_ROOT"] = root;
            psi.Environment["POD_UID"] = uid;
            using Process p = Process.Start(psi)!;
            string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();

            Assert.True(p.ExitCode == 0, stderr);
            Assert.Equal(new[] { $"/{Dir(uid)}/{first}", $"/{Dir(uid)}/{second}" }, stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Pod_scope_without_the_pod_uid_says_what_is_missing()
    {
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Deploy("pod-scope.sh"));
        psi.Environment.Remove("POD_UID");
        using Process p = Process.Start(psi)!;
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(2, p.ExitCode);
        Assert.Contains("POD_UID is not set", stderr);
    }

    internal static YamlMappingNode PodSpec(YamlMappingNode root) =>
        Str(root, "kind") == "Pod" ? Map(root, "spec") : Map(Map(Map(root, "spec"), "template"), "spec");

    internal static YamlMappingNode TracerContainer(YamlMappingNode pod) =>
        Assert.Single(Seq(pod, "containers").Children.Cast<YamlMappingNode>(), c => Str(c, "name") == "aiops-trace");

    internal static YamlMappingNode Map(YamlMappingNode node, string key) =>
        Assert.IsType<YamlMappingNode>(Child(node, key));

    internal static YamlSequenceNode Seq(YamlMappingNode node, string key) =>
        Assert.IsType<YamlSequenceNode>(Child(node, key));

    internal static string Str(YamlMappingNode node, string key) =>
        Assert.IsType<YamlScalarNode>(Child(node, key)).Value ?? "";

    internal static YamlNode Child(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? child) ? child : throw new Xunit.Sdk.XunitException($"missing '{key}' at line {node.Start.Line}");
}
