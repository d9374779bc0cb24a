using AIOps.Trace.Tests.Unit;
using YamlDotNet.RepresentationModel;
using static AIOps.Trace.Tests.Unit.DeployManifestTests;

namespace AIOps.Trace.Tests.Kernel.Containers;

/// <summary>
/// The tracer container of a manifest in deploy/, turned into the `docker run` flags a kubelet's
/// runtime would apply: PID namespace, capabilities, read-only root, security options, volumes,
/// environment, resources and arguments, all read from the YAML, so the test runs what the
/// manifest says and a change to the manifest changes the test. Two things this host cannot
/// give are stated where they are replaced (<see cref="Substitutions"/>).
/// </summary>
internal sealed class PodSettings
{
    private const int CapSysResource = 24;

    private PodSettings(string manifest)
    {
        Manifest = manifest;
        YamlMappingNode pod = PodSpec(Load(manifest));
        Container = TracerContainer(pod);
        Pod = pod;
        YamlMappingNode security = Map(Container, "securityContext");
        Capabilities = Seq(Map(security, "capabilities"), "add").Children.Select(n => n.ToString()).ToList();
        Drop = Seq(Map(security, "capabilities"), "drop").Children.Select(n => n.ToString()).ToList();
        Args = Container.Children.ContainsKey("args") ? Seq(Container, "args").Children.Select(n => n.ToString()).ToList() : [];
    }

    public string Manifest { get; }

    public YamlMappingNode Pod { get; }

    public YamlMappingNode Container { get; }

    /// <summary>securityContext.capabilities.add, as the manifest spells them (no CAP_ prefix).</summary>
    public IReadOnlyList<string> Capabilities { get; }

    public IReadOnlyList<string> Drop { get; }

    public IReadOnlyList<string> Args { get; }

    /// <summary>What the run differs in from the manifest, and why (printed with the test's output).</summary>
    public List<string> Substitutions { get; } = [];

    public static PodSettings Of(string manifest) => new(manifest);

    /// <summary>Whether this process's bounding set holds a capability (a container can get no more).</summary>
    public static bool InBoundingSet(int capability)
    {
        string line = File.ReadAllLines("/proc/self/status").Single(l => l.StartsWith("CapBnd:", StringComparison.Ordinal));
        ulong mask = Convert.ToUInt64(line["CapBnd:".Length..].Trim(), 16);
        return (mask & (1UL << capability)) != 0;
    }

    /// <summary>
    /// The capabilities the engine can grant on this host: the manifest's, less CAP_SYS_RESOURCE when
    /// the host's bounding set lacks it (only kernels before 5.11 need it), and with CAP_BPF and
    /// CAP_PERFMON as CAP_SYS_ADMIN when the engine cannot name them (docker 20.10 predates them;
    /// CAP_SYS_ADMIN is what they were split from and allows what they allow).
    /// </summary>
    public IReadOnlyList<string> GrantableCapabilities(bool engineKnowsBpf)
    {
        var caps = new List<string>();
        foreach (string cap in Capabilities)
        {
            if (cap == "SYS_RESOURCE" && !InBoundingSet(CapSysResource))
            {
                Substitutions.Add("CAP_SYS_RESOURCE left out: this host's capability bounding set lacks it, so no container can get it (it only raises RLIMIT_MEMLOCK, needed before 5.11)");
                continue;
            }
            if (cap is "BPF" or "PERFMON" && !engineKnowsBpf)
            {
                Substitutions.Add($"CAP_{cap} given as CAP_SYS_ADMIN: the engine does not know CAP_{cap}");
                if (!caps.Contains("SYS_ADMIN"))
                    caps.Add("SYS_ADMIN");
                continue;
            }
            if (!caps.Contains(cap))
                caps.Add(cap);
        }
        return caps;
    }

    /// <summary>
    /// `docker run` flags for the tracer container: everything but the image and its arguments.
    /// Secrets and writable volumes come from <paramref name="scratch"/>; hostPath volumes of
    /// type DirectoryOrCreate that do not exist here get an empty scratch directory instead of
    /// being created on the host (a node's kubelet would create them).
    /// </summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public List<string> DockerFlags(string scratch, string nodeName, bool engineKnowsBpf)
    {
        var flags = new List<string>();
        YamlMappingNode security = Map(Container, "securityContext");
        if (Pod.Children.ContainsKey("hostPID") && Str(Pod, "hostPID") == "true")
            flags.Add("--pid=host");
        Assert.Equal("false", Str(security, "privileged"));
        foreach (string drop in Drop)
            flags.AddRange(["--cap-drop", drop]);
        foreach (string cap in GrantableCapabilities(engineKnowsBpf))
            flags.AddRange(["--cap-add", cap]);
        if (security.Children.ContainsKey("readOnlyRootFilesystem") && Str(security, "readOnlyRootFilesystem") == "true")
            flags.Add("--read-only");
        if (security.Children.ContainsKey("allowPrivilegeEscalation") && Str(security, "allowPrivilegeEscalation") == "false")
            flags.AddRange(["--security-opt", "no-new-privileges"]);
        if (security.Children.ContainsKey("runAsUser"))
            flags.AddRange(["--user", Str(security, "runAsUser")]);
        if (security.Children.ContainsKey("seccompProfile") && Str(Map(security, "seccompProfile"), "type") == "Unconfined")
            flags.AddRange(["--security-opt", "seccomp=unconfined"]);
        if (security.Children.ContainsKey("appArmorProfile") && Str(Map(security, "appArmorProfile"), "type") == "Unconfined")
            flags.AddRange(["--security-opt", "apparmor=unconfined"]);

        YamlMappingNode limits = Map(Map(Container, "resources"), "limits");
        flags.AddRange(["--cpus", (Quantity(Str(limits, "cpu")) ).ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        flags.AddRange(["--memory", Str(limits, "memory").Replace("Mi", "m", StringComparison.Ordinal).Replace("Gi", "g", StringComparison.Ordinal)]);

        if (Container.Children.ContainsKey("env"))
        {
            foreach (YamlMappingNode env in Seq(Container, "env").Children.Cast<YamlMappingNode>())
            {
                string name = Str(env, "name");
                string field = Str(Map(Map(env, "valueFrom"), "fieldRef"), "fieldPath");
                // The kubelet fills the downward API in: what it would give for this run.
                string value = field switch
                {
                    "spec.nodeName" => nodeName,
                    "metadata.uid" => "00000000-0000-4000-8000-" + Environment.ProcessId.ToString("x12", System.Globalization.CultureInfo.InvariantCulture),
                    _ => throw new Xunit.Sdk.XunitException($"{Manifest}: no test value for the downward API field {field}"),
                };
                flags.AddRange(["-e", $"{name}={value}"]);
            }
        }

        Dictionary<string, YamlMappingNode> volumes = Seq(Pod, "volumes").Children.Cast<YamlMappingNode>().ToDictionary(v => Str(v, "name"));
        foreach (YamlMappingNode mount in Seq(Container, "volumeMounts").Children.Cast<YamlMappingNode>())
        {
            string path = Str(mount, "mountPath");
            bool readOnly = mount.Children.ContainsKey("readOnly") && Str(mount, "readOnly") == "true";
            YamlMappingNode volume = volumes[Str(mount, "name")];
            string options = readOnly ? "ro" : "rw";
            if (mount.Children.ContainsKey("mountPropagation") && Str(mount, "mountPropagation") == "HostToContainer")
            {
                string host = Str(Map(volume, "hostPath"), "path");
                if (Propagates(host))
                    options += ",rslave";
                else
                    Substitutions.Add($"{host} mounted without HostToContainer propagation: it is a private mount on this host (systemd makes / shared on a node)");
            }
            if (volume.Children.ContainsKey("hostPath"))
            {
                string host = Str(Map(volume, "hostPath"), "path");
                if (!Directory.Exists(host) || !readOnly)
                {
                    // A writable or missing host directory: the test writes nothing on the host.
                    string stand = Directory.CreateDirectory(Path.Combine(scratch, "hostpath" + host.Replace('/', '_'))).FullName;
                    Substitutions.Add($"hostPath {host} ({(readOnly ? "missing here" : "written")}) is a scratch directory");
                    host = stand;
                }
                flags.AddRange(["-v", $"{host}:{path}:{options}"]);
            }
            else if (volume.Children.ContainsKey("emptyDir"))
            {
                YamlMappingNode empty = Map(volume, "emptyDir");
                if (empty.Children.ContainsKey("medium") && Str(empty, "medium") == "Memory")
                    flags.AddRange(["--tmpfs", $"{path}:size={Str(empty, "sizeLimit").Replace("Mi", "m", StringComparison.Ordinal)}"]);
                else
                    flags.AddRange(["-v", $"{Directory.CreateDirectory(Path.Combine(scratch, "empty-" + Str(mount, "name"))).FullName}:{path}:{options}"]);
            }
            else if (volume.Children.ContainsKey("secret"))
            {
                // The secret's one key, the bearer token, as the kubelet projects it.
                string dir = Directory.CreateDirectory(Path.Combine(scratch, "secret-" + Str(mount, "name"))).FullName;
                WriteSecret(Path.Combine(dir, "token"), Token, Map(volume, "secret"));
                flags.AddRange(["-v", $"{dir}:{path}:ro"]);
            }
            else
            {
                throw new Xunit.Sdk.XunitException($"{Manifest}: volume {Str(mount, "name")} is of a kind the test does not know");
            }
        }
        return flags;
    }

    /// <summary>Whether the mount holding <paramref name="path"/> is shared or a slave (optional fields of /proc/self/mountinfo), which rslave needs.</summary>
    public static bool Propagates(string path)
    {
        string[]? best = null;
        foreach (string line in File.ReadAllLines("/proc/self/mountinfo"))
        {
            string[] f = line.Split(' ');
            string point = f[4];
            if ((path == point || path.StartsWith(point.TrimEnd('/') + "/", StringComparison.Ordinal)) && (best is null || point.Length >= best[4].Length))
                best = f;
        }
        return best is not null && best.Skip(6).TakeWhile(f => f != "-").Any(f => f.StartsWith("shared:", StringComparison.Ordinal) || f.StartsWith("master:", StringComparison.Ordinal));
    }

    /// <summary>
    /// Writes a secret volume's key with the mode the kubelet would give it (the volume's
    /// defaultMode, 0644 when it has none): serve refuses a token file others may read.
    /// </summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public static void WriteSecret(string path, string value, YamlMappingNode secret)
    {
        File.WriteAllText(path, value);
        int mode = secret.Children.ContainsKey("defaultMode") ? Convert.ToInt32(Str(secret, "defaultMode"), 8) : Convert.ToInt32("644", 8);
        File.SetUnixFileMode(path, (UnixFileMode)mode);
    }

    /// <summary>The bearer token the secret volume holds for this run.</summary>
    public string Token { get; } = Convert.ToHexString(Guid.NewGuid().ToByteArray()).ToLowerInvariant();

    private static double Quantity(string cpu) =>
        cpu.EndsWith('m') ? double.Parse(cpu[..^1], System.Globalization.CultureInfo.InvariantCulture) / 1000 : double.Parse(cpu, System.Globalization.CultureInfo.InvariantCulture);
}
