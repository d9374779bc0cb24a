using System.Globalization;
using System.Text.Json;
using AIOps.Trace.Tests.Shared;
using AIOps.Trace.Tests.Unit;
using YamlDotNet.RepresentationModel;
using static AIOps.Trace.Tests.Unit.DeployManifestTests;

namespace AIOps.Trace.Tests.Kernel.Containers;

public sealed partial class ContainerRuntimeTests
{
    /// <summary>
    /// deploy/sidecar.yaml under `podman kube play`: the tracer shares its pod's PID namespace (no
    /// hostPID), finds its neighbours with pod-scope.sh, and traces the workload but not itself:
    /// its own threads switch many times while its container's cgroup shows almost no run-queue
    /// events, which is the self filter working with the host's pid number.
    /// </summary>
    [Fact]
    public void Sidecar_pod_traces_its_neighbour_and_not_itself()
    {
        using var scratch = new TempDir("aiops-image-sidecar");
        string pod = engines.Name("podman-pod", "sidecar");
        Own(new Removal("podman-pod", pod));
        string manifest = SidecarCopy(scratch.Path, pod, out List<string> substitutions, out string token);
        foreach (string s in substitutions)
            output.WriteLine("substituted: " + s);
        File.WriteAllText(Path.Combine(scratch.Path, "containers.conf"),
            "[containers]\n# podman's default RLIMIT_NOFILE exceeds this host's hard limit (no CAP_SYS_RESOURCE to raise it)\n" +
            "default_ulimits = [\"nofile=1024:1024\", \"nproc=4096:4096\"]\n");
        Sh.Ok("podman", ["kube", "play", "--network", "none", manifest], TimeSpan.FromMinutes(3),
            new Dictionary<string, string> { ["CONTAINERS_CONF"] = Path.Combine(scratch.Path, "containers.conf") });
        string web = $"{pod}-web", tracer = $"{pod}-aiops-trace";
        string logs() => Sh.Run("podman", "logs", tracer).ToString();

        int webPid = int.Parse(Sh.Ok("podman", "inspect", "-f", "{{.State.Pid}}", web), CultureInfo.InvariantCulture);
        string webCgroup = CpuCgroupOf(webPid);
        string tracerCgroup = CpuCgroupOf(int.Parse(Sh.Ok("podman", "inspect", "-f", "{{.State.Pid}}", tracer), CultureInfo.InvariantCulture));
        string webId = Sh.Ok("podman", "inspect", "-f", "{{.Id}}", web);

        // The API from inside the pod's network namespace (curl runs in the host's cgroup, not the pod's).
        JsonDocument? Api(string path)
        {
            Sh.Result r = Sh.Run("nsenter", ["--target", webPid.ToString(CultureInfo.InvariantCulture), "--net", "curl", "-fsS", "-m", "5",
                "-H", $"Authorization: Bearer {token}", $"http://127.0.0.1:9464/{path}"], TimeSpan.FromSeconds(20));
            return r.ExitCode == 0 && r.Stdout.Length > 0 && r.Stdout[0] == '{' ? JsonDocument.Parse(r.Stdout) : null;
        }
        // Serve starts once pod-scope.sh found the pod's cgroups; then both containers are listed.
        JsonDocument first = Sh.Until(TimeSpan.FromSeconds(120), "the sidecar to list its workload", () =>
        {
            JsonDocument? list = Api("api/v1/containers");
            if (list is not null && ContainerApi.Find(list, webCgroup) is { } w && w.GetProperty("cumulative").GetProperty("runq_count").GetInt64() > 0)
                return list;
            list?.Dispose();
            return null;
        }, logs);
        int serve = Sh.Until(TimeSpan.FromSeconds(10), "serve's host pid in the tracer's cgroup", () =>
            File.ReadAllLines(CpuCgroupFile(tracerCgroup, "cgroup.procs")).Select(l => int.Parse(l, CultureInfo.InvariantCulture))
                .Where(p => File.Exists($"/proc/{p}/comm") && File.ReadAllText($"/proc/{p}/comm").Trim() == "aiops-trace")
                .Select(p => (object)p).FirstOrDefault()) is int pid ? pid : 0;

        long seq0, tracerRunq0, webRunq0;
        long switches0 = ContextSwitches(serve);
        using (first)
        {
            seq0 = ContainerApi.Seq(first);
            tracerRunq0 = RunqCount(first, tracerCgroup);
            webRunq0 = RunqCount(first, webCgroup);
            JsonElement w = ContainerApi.Find(first, webCgroup)!.Value;
            Assert.Equal("podman", w.GetProperty("runtime").GetString());
            Assert.Equal(webId, w.GetProperty("container_id").GetString());
            Assert.Equal(web, w.GetProperty("container").GetString());
        }
        JsonDocument later = Sh.Until(TimeSpan.FromSeconds(60), "three more windows", () =>
        {
            JsonDocument? list = Api("api/v1/containers");
            if (list is not null && ContainerApi.Seq(list) >= seq0 + 3)
                return list;
            list?.Dispose();
            return null;
        }, logs);
        long switches = ContextSwitches(serve) - switches0;
        using (later)
        {
            long tracerRunq = RunqCount(later, tracerCgroup) - tracerRunq0, webRunq = RunqCount(later, webCgroup) - webRunq0;
            output.WriteLine($"over {ContainerApi.Seq(later) - seq0} windows: serve's threads switched {switches} times; run-queue events: tracer's cgroup {tracerRunq}, workload's {webRunq}");
            // The workload wakes every 50 ms: traced. serve's own threads: not (its cgroup's few events
            // are pod-scope.sh's rescans); without the host pid they would count at least as often as they switch.
            Assert.True(webRunq >= 20, $"the workload's wake-ups were not traced ({webRunq})");
            Assert.True(switches >= 20, $"serve's threads switched only {switches} times: nothing to tell the filter by");
            Assert.True(tracerRunq * 4 < switches, $"the tracer traced itself: {tracerRunq} run-queue events in its cgroup for {switches} switches of its threads");
        }
        Assert.DoesNotContain("not the host's", Sh.Run("podman", "logs", tracer).Stderr, StringComparison.Ordinal);
    }

    /// <summary>
    /// deploy/sidecar.yaml as podman kube play can run it here: this run's images and names, and
    /// what podman or this host cannot do, replaced and said (<paramref name="substitutions"/>).
    /// </summary>
    private string SidecarCopy(string scratch, string pod, out List<string> substitutions, out string token)
    {
        substitutions = [];
        YamlMappingNode root = Load("sidecar.yaml");
        ((YamlMappingNode)root.Children["metadata"]).Children[new YamlScalarNode("name")] = new YamlScalarNode(pod);
        YamlMappingNode spec = PodSpec(root);
        foreach (YamlMappingNode c in Seq(spec, "containers").Children.Cast<YamlMappingNode>())
        {
            if (Str(c, "name") == "aiops-trace")
            {
                c.Children[new YamlScalarNode("image")] = new YamlScalarNode(engines.Tag);
                foreach (YamlMappingNode env in Seq(c, "env").Children.Cast<YamlMappingNode>().Where(e => Str(e, "name") == "NODE_NAME"))
                {
                    env.Children.Remove(new YamlScalarNode("valueFrom"));
                    env.Children.Add(new YamlScalarNode("value"), new YamlScalarNode("sidecar-node"));
                    substitutions.Add("NODE_NAME is a literal: podman 4.3 refuses the downward API field spec.nodeName");
                }
                foreach (YamlMappingNode m in Seq(c, "volumeMounts").Children.Cast<YamlMappingNode>().Where(m => m.Children.ContainsKey("mountPropagation")))
                {
                    string host = Str(Map(Seq(spec, "volumes").Children.Cast<YamlMappingNode>().Single(v => Str(v, "name") == Str(m, "name")), "hostPath"), "path");
                    if (!PodSettings.Propagates(host) && m.Children.Remove(new YamlScalarNode("mountPropagation")))
                        substitutions.Add($"{host} mounted without HostToContainer propagation: a private mount on this host");
                }
                YamlSequenceNode add = Seq(Map(Map(c, "securityContext"), "capabilities"), "add");
                if (!PodSettings.InBoundingSet(24) && add.Children.Remove(new YamlScalarNode("SYS_RESOURCE")))
                    substitutions.Add("CAP_SYS_RESOURCE left out: this host's bounding set lacks it");
            }
            else
            {
                c.Children[new YamlScalarNode("image")] = new YamlScalarNode(engines.WorkloadTag);
                c.Children[new YamlScalarNode("command")] = new YamlSequenceNode(new YamlScalarNode("/bin/sh"), new YamlScalarNode("-c"), new YamlScalarNode(Tick));
                substitutions.Add($"the workload {Str(c, "name")} is busybox waking every 50 ms");
            }
            if (c.Children.Remove(new YamlScalarNode("ports")))
                substitutions.Add($"{Str(c, "name")}'s ports left out: the pod runs with --network none (its own namespace, no bridge), and the test reaches :9464 from inside it");
            foreach (string probe in new[] { "livenessProbe", "readinessProbe" })
                if (c.Children.Remove(new YamlScalarNode(probe)))
                    substitutions.Add($"{Str(c, "name")}'s {probe} left out: podman runs probes from systemd timers, and there is no systemd here");
        }
        // Under Kubernetes the kubelet's pod logs name the pod's containers; podman keeps no such
        // directory, its container store does (what the DaemonSet mounts for podman nodes).
        foreach (YamlMappingNode v in Seq(spec, "volumes").Children.Cast<YamlMappingNode>().Where(v => Str(v, "name") == "pod-logs"))
        {
            const string store = "/var/lib/containers/storage/overlay-containers";
            v.Children[new YamlScalarNode("hostPath")] = new YamlMappingNode(new YamlScalarNode("path"), new YamlScalarNode(store), new YamlScalarNode("type"), new YamlScalarNode("Directory"));
            foreach (YamlMappingNode c in Seq(spec, "containers").Children.Cast<YamlMappingNode>().Where(c => Str(c, "name") == "aiops-trace"))
                foreach (YamlMappingNode m in Seq(c, "volumeMounts").Children.Cast<YamlMappingNode>().Where(m => Str(m, "name") == "pod-logs"))
                    m.Children[new YamlScalarNode("mountPath")] = new YamlScalarNode("/host" + store);
            substitutions.Add($"the kubelet's /var/log/pods is podman's {store} (its container store names the pod's containers; podman writes no kubelet logs)");
        }
        // podman 4.3 reads the seccomp profile from the annotation, not from securityContext.seccompProfile.
        Map(root, "metadata").Children.TryGetValue(new YamlScalarNode("annotations"), out YamlNode? annotations);
        ((YamlMappingNode)annotations!).Children[new YamlScalarNode("seccomp.security.alpha.kubernetes.io/pod")] = new YamlScalarNode("unconfined");
        substitutions.Add("seccompProfile Unconfined given as podman's annotation seccomp.security.alpha.kubernetes.io/pod: unconfined");
        token = Convert.ToHexString(Guid.NewGuid().ToByteArray()).ToLowerInvariant();
        foreach (YamlMappingNode v in Seq(spec, "volumes").Children.Cast<YamlMappingNode>().Where(v => v.Children.ContainsKey("secret")))
        {
            string dir = Directory.CreateDirectory(Path.Combine(scratch, "secret")).FullName;
            PodSettings.WriteSecret(Path.Combine(dir, "token"), token, Map(v, "secret"));
            v.Children.Remove(new YamlScalarNode("secret"));
            v.Children.Add(new YamlScalarNode("hostPath"), new YamlMappingNode(new YamlScalarNode("path"), new YamlScalarNode(dir), new YamlScalarNode("type"), new YamlScalarNode("Directory")));
            substitutions.Add("the token secret is a hostPath directory holding the token (podman has no kubelet secret store)");
        }
        string path = Path.Combine(scratch, "sidecar.yaml");
        using (var writer = new StreamWriter(path))
            new YamlStream(new YamlDocument(root)).Save(writer, assignAnchors: false);
        return path;
    }

    private static long RunqCount(JsonDocument list, string cgroup) =>
        ContainerApi.Find(list, cgroup) is { } c ? c.GetProperty("cumulative").GetProperty("runq_count").GetInt64() : 0;

    /// <summary>Voluntary plus involuntary context switches of every thread of a process (/proc/&lt;pid&gt;/task/*/status).</summary>
    private static long ContextSwitches(int pid) =>
        Directory.GetDirectories($"/proc/{pid}/task").Sum(t =>
        {
            try
            {
                return File.ReadAllLines(Path.Combine(t, "status")).Where(l => l.Contains("ctxt_switches:", StringComparison.Ordinal))
                    .Sum(l => long.Parse(l.Split(':')[1].Trim(), CultureInfo.InvariantCulture));
            }
            catch (IOException)
            {
                return 0; // a thread that ended between the listing and the read
            }
        });

    private static string CpuCgroupFile(string cgroup, string file) =>
        AIOps.Trace.Cgroups.CgroupMounts.Discover().ForController("cpu")!.PathOf(cgroup, file);
}
