using System.Text.RegularExpressions;
using System.Xml.Linq;
using AIOps.Trace.Tests.Kernel;
using YamlDotNet.RepresentationModel;
using static AIOps.Trace.Tests.Unit.DeployManifestTests;

namespace AIOps.Trace.Tests.Unit;

/// <summary>
/// deploy/Dockerfile, for users with a registry, against the sources and the local image
/// (deploy/image): its restore layer has every project the CLI needs, its runtime stage installs
/// the local image's package list, the build context leaves local output out; and both manifests
/// take the node's name from the downward API. ContainerRuntimeTests compares the Dockerfile's
/// files with the built image's.
/// </summary>
public sealed partial class DeployImageTests
{
    private static string Root => StructLayoutTests.RepoRoot();

    internal static string[] DockerfileLines() => File.ReadAllLines(Deploy("Dockerfile"));

    /// <summary>The runtime stage's lines, instructions joined across their continuation backslashes.</summary>
    internal static List<string> RuntimeInstructions()
    {
        var joined = new List<string>();
        string pending = "";
        foreach (string raw in DockerfileLines().SkipWhile(l => !l.Contains(" AS runtime", StringComparison.Ordinal)))
        {
            string line = raw.Trim();
            if (line.StartsWith('#') || line.Length == 0)
                continue;
            if (line.EndsWith('\\'))
            {
                pending += line[..^1] + " ";
                continue;
            }
            joined.Add(pending + line);
            pending = "";
        }
        return joined;
    }

    /// <summary>File names the runtime stage copies into /opt/aiops-trace.</summary>
    internal static SortedSet<string> DockerfileAppFiles()
    {
        var files = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string copy in RuntimeInstructions().Where(l => l.StartsWith("COPY ", StringComparison.Ordinal)))
        {
            string[] words = copy.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToArray();
            string destination = words[^1];
            Assert.StartsWith("/opt/aiops-trace/", destination);
            foreach (string source in words[..^1])
                files.Add(destination.EndsWith('/') ? Path.GetFileName(source) : Path.GetFileName(destination));
        }
        return files;
    }

    [Fact]
    public void The_restore_layer_copies_every_project_the_cli_references()
    {
        // Project references, followed from the CLI: publish runs --no-restore, so each must be restored.
        var needed = new SortedSet<string>(StringComparer.Ordinal);
        var queue = new Queue<string>(["src/AIOps.Trace.Cli/AIOps.Trace.Cli.csproj"]);
        while (queue.Count > 0)
        {
            string project = queue.Dequeue();
            if (!needed.Add(project))
                continue;
            foreach (XElement reference in XDocument.Load(Path.Combine(Root, project)).Descendants("ProjectReference"))
            {
                string full = Path.GetFullPath(Path.Combine(Root, Path.GetDirectoryName(project)!, reference.Attribute("Include")!.Value));
                queue.Enqueue(Path.GetRelativePath(Root, full).Replace('\\', '/'));
            }
        }
        Assert.True(needed.Count >= 4, string.Join(", ", needed));

        string[] lines = DockerfileLines();
        int restore = Array.FindIndex(lines, l => l.Contains("dotnet restore", StringComparison.Ordinal));
        Assert.True(restore > 0, "no dotnet restore in the Dockerfile");
        SortedSet<string> copied = new(lines[..restore].Where(l => l.StartsWith("COPY ", StringComparison.Ordinal))
            .SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).SkipLast(1))
            .Where(w => w.EndsWith(".csproj", StringComparison.Ordinal)), StringComparer.Ordinal);
        Assert.Equal(needed, copied);
        Assert.Contains("--no-restore", string.Join('\n', lines[restore..]));
    }

    [Fact]
    public void The_runtime_stage_installs_the_local_images_packages()
    {
        string install = Assert.Single(RuntimeInstructions(), l => l.StartsWith("RUN ", StringComparison.Ordinal) && l.Contains("apt-get install", StringComparison.Ordinal));
        string[] words = install[(install.IndexOf("apt-get install", StringComparison.Ordinal) + "apt-get install".Length)..]
            .Split("&&")[0].Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => !w.StartsWith('-')).ToArray();
        // Ubuntu 24.04 (the .NET 10 images' base) renamed the libraries it rebuilt for 64-bit time_t.
        SortedSet<string> dockerfile = new(words.Select(w => w.EndsWith("t64", StringComparison.Ordinal) ? w[..^3] : w), StringComparer.Ordinal);
        SortedSet<string> local = new(File.ReadAllLines(Path.Combine(Root, "deploy", "image", "packages.txt"))
            .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')), StringComparer.Ordinal);
        // runtime-deps already holds ca-certificates, which the Debian base has to be given.
        local.Remove("ca-certificates");
        Assert.Equal(local, dockerfile);
    }

    [Fact]
    public void The_build_context_leaves_local_build_output_out()
    {
        string[] patterns = File.ReadAllLines(Path.Combine(Root, ".dockerignore")).Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();
        foreach (string output in new[] { "src/AIOps.Trace/bin", "src/AIOps.Trace.Cli/obj", "tests/AIOps.Trace.Tests/bin", "artifacts", ".git" })
            Assert.True(patterns.Any(p => Ignores(p, output)), $".dockerignore does not leave out {output}");
        // ... and nothing the Dockerfile copies from the context.
        foreach (string copied in DockerfileLines().Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from=", StringComparison.Ordinal))
                     .SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Where(w => !w.StartsWith("--", StringComparison.Ordinal)).SkipLast(1)))
            Assert.False(patterns.Any(p => Ignores(p, copied.TrimEnd('/'))), $".dockerignore leaves out {copied}, which the Dockerfile copies");
    }

    [Theory]
    [InlineData("daemonset.yaml")]
    [InlineData("sidecar.yaml")]
    public void NODE_NAME_comes_from_the_downward_API(string file)
    {
        YamlMappingNode tracer = TracerContainer(PodSpec(Load(file)));
        YamlMappingNode env = Assert.Single(Seq(tracer, "env").Children.Cast<YamlMappingNode>(), e => Str(e, "name") == "NODE_NAME");
        Assert.False(env.Children.ContainsKey("value"), $"{file}: NODE_NAME must not be a literal");
        Assert.Equal("spec.nodeName", Str(Map(Map(env, "valueFrom"), "fieldRef"), "fieldPath"));
    }

    // .dockerignore patterns as Docker matches them (Go filepath.Match per path, "**" any number of directories).
    private static bool Ignores(string pattern, string path)
    {
        string regex = "^" + Regex.Escape(pattern.TrimEnd('/')).Replace(@"\*\*/", "(.*/)?", StringComparison.Ordinal)
            .Replace(@"\*", "[^/]*", StringComparison.Ordinal).Replace(@"\?", "[^/]", StringComparison.Ordinal) + "(/.*)?$";
        return Regex.IsMatch(path, regex);
    }
}
