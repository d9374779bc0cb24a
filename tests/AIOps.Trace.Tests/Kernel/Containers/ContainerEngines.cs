using AIOps.Trace.Tests.Shared;

namespace AIOps.Trace.Tests.Kernel.Containers;

/// <summary>
/// The image as users get it, under the engines they run: builds the local image and the busybox
/// workload image once per test run (deploy/image/build-image.sh, tags of this run's own), starts
/// containerd and dockerd when none answers (deploy/image/engines.sh; podman has no daemon),
/// loads both images into docker, podman and containerd, and on dispose removes every container
/// the tests named with <see cref="Name"/>, the two images, and the daemons it started.
/// </summary>
public sealed class ContainerEngines : IDisposable
{
    private readonly TempDir _scratch = new("aiops-image-test");
    private readonly List<(string Engine, string Name)> _containers = [];
    private readonly Lock _lock = new();

    public ContainerEngines()
    {
        Run = $"t{Environment.ProcessId}";
        Tag = $"aiops-trace-test:{Run}";
        WorkloadTag = $"aiops-workload-test:{Run}";
        Archives = Path.Combine(_scratch.Path, "archives");
        string scripts = Path.Combine(StructLayoutTests.RepoRoot(), "deploy", "image");
        try
        {
            Sh.Ok(Path.Combine(scripts, "build-image.sh"), [], TimeSpan.FromMinutes(15), new Dictionary<string, string>
            {
                ["AIOPS_IMAGE_TAG"] = Tag,
                ["AIOPS_WORKLOAD_TAG"] = WorkloadTag,
                ["AIOPS_IMAGE_OUT"] = Archives,
            });
            Sh.Ok(Path.Combine(scripts, "engines.sh"), ["start", EngineState], TimeSpan.FromMinutes(2));
            // One engine per thread: each load reads its archive on its own.
            Parallel.ForEach(["docker", "podman", "ctr"], engine =>
            {
                foreach (string archive in new[] { "aiops-trace.tar", "workload.tar" })
                {
                    string path = Path.Combine(Archives, archive);
                    if (engine == "ctr")
                        Sh.Ok("ctr", ["-n", "default", "image", "import", path], TimeSpan.FromMinutes(3));
                    else
                        Sh.Ok(engine, ["load", "-q", "-i", path], TimeSpan.FromMinutes(3));
                }
            });
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>This test run's suffix of container names and image tags.</summary>
    public string Run { get; }

    /// <summary>The tracer image (docker and podman name it so; containerd as docker.io/library/...).</summary>
    public string Tag { get; }

    public string WorkloadTag { get; }

    /// <summary>Where build-image.sh wrote aiops-trace.tar and workload.tar.</summary>
    public string Archives { get; }

    private string EngineState => Path.Combine(_scratch.Path, "engines");

    /// <summary>containerd's full reference of an image docker would call <paramref name="tag"/>.</summary>
    public static string ContainerdRef(string tag) => "docker.io/library/" + tag;

    /// <summary>A container name unique to this run, removed on dispose whatever happens.</summary>
    public string Name(string engine, string role)
    {
        string name = $"aiops-image-{role}-{Run}";
        lock (_lock)
            _containers.Add((engine, name));
        return name;
    }

    /// <summary>Removes one container now (it is also removed on dispose if this fails).</summary>
    public static void Remove(string engine, string name)
    {
        switch (engine)
        {
            case "docker":
                Sh.Run("docker", "rm", "-f", name);
                break;
            case "podman":
                Sh.Run("podman", "rm", "-f", "-t", "0", name);
                break;
            case "podman-pod":
                Sh.Run("podman", "pod", "rm", "-f", "-t", "0", name);
                break;
            case "ctr":
                Sh.Run("ctr", "-n", "default", "task", "kill", "-s", "KILL", name);
                Sh.Until(TimeSpan.FromSeconds(20), $"ctr task {name} to stop", () =>
                    Sh.Run("ctr", "-n", "default", "task", "ls").Stdout.Split('\n').Any(l => l.StartsWith(name + " ", StringComparison.Ordinal) && l.Contains("RUNNING", StringComparison.Ordinal)) ? null : "");
                Sh.Run("ctr", "-n", "default", "task", "rm", "-f", name);
                Sh.Run("ctr", "-n", "default", "container", "rm", name);
                break;
        }
    }

    public void Dispose()
    {
        List<(string Engine, string Name)> containers;
        lock (_lock)
            containers = [.. _containers];
        foreach ((string engine, string name) in containers)
        {
            try { Remove(engine, name); }
            catch (Xunit.Sdk.XunitException) { /* reported by the test that made it; the daemon stop below ends it */ }
        }
        Sh.Run("docker", "rmi", "-f", Tag, WorkloadTag);
        Sh.Run("podman", "rmi", "-f", Tag, WorkloadTag);
        Sh.Run("ctr", "-n", "default", "image", "rm", ContainerdRef(Tag), ContainerdRef(WorkloadTag));
        Sh.Run(Path.Combine(StructLayoutTests.RepoRoot(), "deploy", "image", "engines.sh"), "stop", EngineState);
        _scratch.Dispose();
    }
}

/// <summary>Removes a container (or podman pod) when a test ends, before the test base checks that nothing BPF is left loaded.</summary>
internal sealed class Removal(string engine, string name) : IDisposable
{
    public void Dispose() => ContainerEngines.Remove(engine, name);
}
