using System.Diagnostics;
using System.Globalization;
using AIOps.Trace.Tests.Unit;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// samples/AIOps.Trace.Sample built against the AIOps.Trace package from artifacts/packages (as a
/// consumer's project restores it: no project reference, a fresh package cache) and run as root:
/// it traces one window and prints this host's containers.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PackagedSampleTests(PackagedSampleTests.BuiltSample sample) : KernelTestBase, IClassFixture<PackagedSampleTests.BuiltSample>
{
    [Fact]
    public void The_sample_prints_a_capped_container_at_the_share_its_quota_allows()
    {
        TestCgroup capped = NewCgroup("library-sample");
        long period = long.Parse(capped.ReadCpu("cpu.cfs_period_us").Trim(), CultureInfo.InvariantCulture);
        capped.WriteCpu("cpu.cfs_quota_us", (period * 3 / 10).ToString(CultureInfo.InvariantCulture));
        Track(capped.Start(TestCgroup.BusyLoop));
        long usageBefore = CpuUsageNs(capped);

        (int code, string stdout, string stderr) = Run("dotnet", sample.Dll);
        long usageDuring = CpuUsageNs(capped) - usageBefore;

        Assert.True(code == 0, $"the sample failed ({code}): {stderr}\n{stdout}");
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("tracing with tp_btf + ringbuf", lines[0]);
        double window = double.Parse(lines[1].Split(" ran in ")[1].Split('s')[0], CultureInfo.InvariantCulture);
        string line = Assert.Single(lines, l => l.StartsWith(capped.RelativePath + ": ", StringComparison.Ordinal));
        double cores = double.Parse(line[(capped.RelativePath.Length + 2)..].Split(' ')[0], CultureInfo.InvariantCulture);
        // The kernel caps the loop at 0.3 cores (cpu.cfs_quota_us / cpu.cfs_period_us), and the
        // window's CPU is part of what cpuacct.usage counted while the sample ran.
        Assert.InRange(cores, 0.01, 0.3 * 1.1);
        Assert.InRange(cores * window * 1e9, 0, usageDuring * 1.05);
    }

    private static long CpuUsageNs(TestCgroup cgroup) =>
        long.Parse(File.ReadAllText("/sys/fs/cgroup/cpuacct" + cgroup.RelativePath + "/cpuacct.usage").Trim(), CultureInfo.InvariantCulture);

    private static (int Code, string Stdout, string Stderr) Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
            psi.ArgumentList.Add(a);
        return Wait(psi, TimeSpan.FromMinutes(1));
    }

    private static (int Code, string Stdout, string Stderr) Wait(ProcessStartInfo psi, TimeSpan deadline)
    {
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync(), stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(deadline))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{psi.FileName} {string.Join(' ', psi.ArgumentList)} did not finish in {deadline.TotalSeconds:0} s");
        }
        p.WaitForExit();
        return (p.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    /// <summary>
    /// The sample restored from the local feed into a package cache of its own (so a package
    /// rebuilt with the same version is never shadowed by a cached one) and built outside the tree.
    /// </summary>
    public sealed class BuiltSample : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("aiops-library-sample-").FullName;

        public BuiltSample()
        {
            string package = PackageContentsTests.EnginePackage();
            string version = Path.GetFileNameWithoutExtension(package)["AIOps.Trace.".Length..];
            string project = Path.Combine(StructLayoutTests.RepoRoot(), "samples/AIOps.Trace.Sample/AIOps.Trace.Sample.csproj");
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in new[] { "build", project, "-c", "Release", "--artifacts-path", Path.Combine(_dir, "out"), $"-p:AiopsTraceVersion={version}" })
                psi.ArgumentList.Add(a);
            psi.Environment["NUGET_PACKAGES"] = Path.Combine(_dir, "packages");
            // The test host's MSBuild variables would point the build at the test run's SDK state.
            foreach (string name in psi.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
                psi.Environment.Remove(name);
            (int code, string stdout, string stderr) = Wait(psi, TimeSpan.FromMinutes(5));
            if (code != 0)
            {
                Dispose();
                throw new InvalidOperationException($"building the sample against {Path.GetFileName(package)} failed ({code}):\n{stdout}\n{stderr}");
            }
            Dll = Directory.GetFiles(Path.Combine(_dir, "out", "bin"), "AIOps.Trace.Sample.dll", SearchOption.AllDirectories).Single();
            Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(Dll)!, "runtimes/linux-x64/native/libaiops_shim.so")),
                "the shim did not come from the package's runtimes/linux-x64/native");
        }

        /// <summary>The built sample.</summary>
        public string Dll { get; } = "";

        public void Dispose()
        {
            if (Directory.Exists(_dir))
                Directory.Delete(_dir, recursive: true);
        }
    }
}
