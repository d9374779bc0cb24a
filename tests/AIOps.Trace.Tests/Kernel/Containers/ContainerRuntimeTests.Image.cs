using AIOps.Trace.Tests.Unit;

namespace AIOps.Trace.Tests.Kernel.Containers;

public sealed partial class ContainerRuntimeTests
{
    [Fact]
    public void The_image_holds_the_Dockerfiles_files_and_every_library_they_load_resolves()
    {
        // ldd inside the image: the executable, the .so files beside it and libsvm (dlopened by the detectors).
        string listing = Sh.Ok("docker", "run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", engines.Tag, "-c",
            "ls -1 /opt/aiops-trace && echo --- && ldd /opt/aiops-trace/aiops-trace /opt/aiops-trace/*.so \"$(find /usr/lib -name libsvm.so.3 | head -n 1)\"");
        string[] parts = listing.Split("---\n");
        var files = new SortedSet<string>(parts[0].Split('\n', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);

        // The local image and deploy/Dockerfile ship the same files.
        Assert.Equal(DeployImageTests.DockerfileAppFiles(), files);
        // Every native file publish wrote ships; symbols (.dbg, .pdb) and XML docs are not loaded at run time.
        string bin = Path.Combine(StructLayoutTests.RepoRoot(), "artifacts", "bin");
        foreach (string published in Directory.GetFiles(bin).Select(f => Path.GetFileName(f)).Where(f => Path.GetExtension(f) is not (".dbg" or ".pdb" or ".xml")))
            Assert.Contains(published, files);
        Assert.Contains("libsvm.so.3:", parts[1], StringComparison.Ordinal);
        Assert.DoesNotContain("not found", parts[1], StringComparison.Ordinal);

        // And the executable runs there: a bad flag is one line and exit code 2.
        Sh.Result bad = Sh.Run("docker", "run", "--rm", "--network", "none", engines.Tag, "snapshot", "--duration", "soon");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--duration", bad.Stderr, StringComparison.Ordinal);
    }
}
