using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;
using AIOps.Trace.Tests.Kernel;

namespace AIOps.Trace.Tests.Unit;

/// <summary>
/// The AIOps.Trace package that `./build.sh --target=Pack` writes (the Test target packs first):
/// what a consumer gets without cloning the repository or building anything native.
/// </summary>
public sealed class PackageContentsTests
{
    private static readonly string Root = StructLayoutTests.RepoRoot();

    /// <summary>The engine's package in artifacts/packages.</summary>
    internal static string EnginePackage()
    {
        string dir = Path.Combine(Root, "artifacts", "packages");
        string[] found = Directory.Exists(dir) ? Directory.GetFiles(dir, "AIOps.Trace.*.nupkg") : [];
        string[] engine = found.Where(f => System.Text.RegularExpressions.Regex.IsMatch(Path.GetFileName(f), @"^AIOps\.Trace\.\d+\.\d+\.\d+.*\.nupkg$")).ToArray();
        Assert.True(engine.Length == 1, $"expected one AIOps.Trace package in {dir} (./build.sh --target=Pack), found: {string.Join(", ", found)}");
        return engine[0];
    }

    [Fact]
    public void The_package_carries_the_shim_the_programs_the_docs_and_the_readme()
    {
        using ZipArchive nupkg = ZipFile.OpenRead(EnginePackage());

        Assert.Equal(File.ReadAllBytes(Path.Combine(Root, "artifacts/native/libaiops_shim.so")), Bytes(nupkg, "runtimes/linux-x64/native/libaiops_shim.so"));
        Assert.NotNull(nupkg.GetEntry("lib/net10.0/AIOps.Trace.xml"));
        Assert.Equal(File.ReadAllText(Path.Combine(Root, "src/AIOps.Trace/README.md")), System.Text.Encoding.UTF8.GetString(Bytes(nupkg, "README.md")));

        // The BPF objects travel inside the assembly, byte for byte what bpf/ built.
        using var pe = new PEReader(new MemoryStream(Bytes(nupkg, "lib/net10.0/AIOps.Trace.dll")));
        IReadOnlyDictionary<string, byte[]> resources = ManifestResources(pe);
        foreach (string name in new[] { "aiops_sched.bpf.o", "aiops_sched_perf.bpf.o" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(Root, "artifacts/bpf", name)), resources[name]);
    }

    [Fact]
    public void The_nuspec_names_the_readme_and_the_commit_and_its_one_dependency_is_beside_it()
    {
        using ZipArchive nupkg = ZipFile.OpenRead(EnginePackage());
        XDocument nuspec = XDocument.Load(new MemoryStream(Bytes(nupkg, "AIOps.Trace.nuspec")));
        XNamespace ns = nuspec.Root!.Name.Namespace;
        XElement metadata = nuspec.Root.Element(ns + "metadata")!;

        Assert.Equal("README.md", metadata.Element(ns + "readme")?.Value);
        // SourceLink: the commit the package was built from.
        Assert.Matches("^[0-9a-f]{40}$", metadata.Element(ns + "repository")?.Attribute("commit")?.Value ?? "");
        // One dependency, and Pack puts it beside the package: `dotnet add package AIOps.Trace --source artifacts/packages` needs no other feed.
        XElement dependency = Assert.Single(metadata.Descendants(ns + "dependency"));
        Assert.Equal("Microsoft.Extensions.ObjectPool", dependency.Attribute("id")?.Value);
        string version = dependency.Attribute("version")!.Value;
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(EnginePackage())!, $"microsoft.extensions.objectpool.{version}.nupkg")),
            $"Microsoft.Extensions.ObjectPool {version} is not beside the package");
    }

    [Fact]
    public void The_sample_is_the_package_readme_example_word_for_word()
    {
        string readme = File.ReadAllText(Path.Combine(Root, "src/AIOps.Trace/README.md"));
        string example = readme.Split("```csharp\n")[1].Split("```")[0];

        Assert.Equal(example, File.ReadAllText(Path.Combine(Root, "samples/AIOps.Trace.Sample/Program.cs")));
    }

    private static byte[] Bytes(ZipArchive zip, string path)
    {
        ZipArchiveEntry entry = zip.GetEntry(path) ?? throw new Xunit.Sdk.XunitException($"the package has no {path}: {string.Join(", ", zip.Entries.Select(e => e.FullName))}");
        using Stream s = entry.Open();
        using var copy = new MemoryStream();
        s.CopyTo(copy);
        return copy.ToArray();
    }

    private static Dictionary<string, byte[]> ManifestResources(PEReader pe)
    {
        MetadataReader md = pe.GetMetadataReader();
        PEMemoryBlock block = pe.GetSectionData(pe.PEHeaders.CorHeader!.ResourcesDirectory.RelativeVirtualAddress);
        var found = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (ManifestResourceHandle h in md.ManifestResources)
        {
            ManifestResource r = md.GetManifestResource(h);
            BlobReader reader = block.GetReader();
            reader.Offset = checked((int)r.Offset);
            int length = reader.ReadInt32();
            found[md.GetString(r.Name)] = reader.ReadBytes(length);
        }
        return found;
    }
}
