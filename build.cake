// AIOps.Trace build: the kernel side (BPF object, native shim) first, then the .NET solution.
// Run through ./build.sh, which installs the toolchain and restores Cake:
//   ./build.sh --target=Test --filter=FullyQualifiedName~Unit
//   ./build.sh --target=Bench --bench-filter='*RingBuffer*'
//   ./build.sh --target=Detection [--detection-runs=3]

using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Xml.Linq;

//////////////////////////////////////////////////////////////////////
// ARGUMENTS
//////////////////////////////////////////////////////////////////////

var target = Argument("target", "Default");
var configuration = Argument("configuration", "Release");
var testFilter = Argument("filter", string.Empty);
var benchFilter = Argument("bench-filter", "*");
var scenarioRuns = Argument("runs", 20);
var detectionRuns = Argument("detection-runs", 0);
var matrixKernels = Argument("kernels", "bullseye,bookworm,trixie");
var matrixTiers = Argument("tiers", "auto,perfbuf:raw_tp:kprobe,ringbuf:tracepoint:kprobe");
var matrixLayouts = Argument("layouts", "hybrid,v2");

//////////////////////////////////////////////////////////////////////
// SETUP
//////////////////////////////////////////////////////////////////////

var repoRoot = Context.Environment.WorkingDirectory;
var solution = repoRoot.CombineWithFilePath("AIOps.Trace.sln");
var artifacts = repoRoot.Combine("artifacts");
var testResults = artifacts.Combine("test-results");
var benchArtifacts = artifacts.Combine("bench");
var publishDir = artifacts.Combine("bin");
var cliBinary = publishDir.CombineWithFilePath("aiops-trace");
var nativeShim = artifacts.Combine("native").CombineWithFilePath("libaiops_shim.so");
var benchProject = repoRoot.CombineWithFilePath("benchmarks/AIOps.Trace.Benchmarks/AIOps.Trace.Benchmarks.csproj");
var cliProject = repoRoot.CombineWithFilePath("src/AIOps.Trace.Cli/AIOps.Trace.Cli.csproj");
var kernelMatrixTool = repoRoot.CombineWithFilePath("tools/AIOps.Trace.KernelMatrix/AIOps.Trace.KernelMatrix.csproj");
var packages = artifacts.Combine("packages");
// The projects published as NuGet packages (each says IsPackable); samples/ consumes them from artifacts/packages.
var packedProjects = new[] { "src/AIOps.Trace/AIOps.Trace.csproj" };

// Warnings fail the build everywhere, MSBuild and NuGet warnings included, not only the compiler's.
DotNetMSBuildSettings WarningsAsErrors() =>
    new DotNetMSBuildSettings().TreatAllWarningsAs(MSBuildTreatAllWarningsAs.Error);

Setup(context =>
{
    var kernel = System.IO.File.Exists("/proc/sys/kernel/osrelease")
        ? System.IO.File.ReadAllText("/proc/sys/kernel/osrelease").Trim()
        : RuntimeInformation.OSDescription;
    Information($"AIOps.Trace: target {target}, configuration {configuration}, kernel {kernel}");
});

//////////////////////////////////////////////////////////////////////
// PRIVATE TASKS
//////////////////////////////////////////////////////////////////////

Task("__BuildKernelSide")
    .Description("Builds artifacts/bpf/aiops_sched.bpf.o and artifacts/native/libaiops_shim.{so,a}.")
    .Does(() =>
{
    RunOrFail("make", "-C", "bpf");
    RunOrFail("make", "-C", "native");
});

//////////////////////////////////////////////////////////////////////
// PUBLIC TASKS
//////////////////////////////////////////////////////////////////////

Task("Clean")
    .Does(() =>
{
    RunOrFail("make", "-C", "bpf", "clean");
    RunOrFail("make", "-C", "native", "clean");
    var deleteAll = new DeleteDirectorySettings { Recursive = true, Force = true };
    foreach (var pattern in new[] { "src/*/bin", "src/*/obj", "tests/*/bin", "tests/*/obj", "benchmarks/*/bin", "benchmarks/*/obj", "samples/*/bin", "samples/*/obj" })
    {
        DeleteDirectories(GetDirectories(pattern), deleteAll);
    }
    if (DirectoryExists(artifacts))
    {
        DeleteDirectory(artifacts, deleteAll);
    }
});

Task("Build")
    .IsDependentOn("__BuildKernelSide")
    .Does(() =>
{
    DotNetBuild(solution.FullPath, new DotNetBuildSettings
    {
        Configuration = configuration,
        MSBuildSettings = WarningsAsErrors(),
    });
});

Task("Pack")
    .Description("NuGet packages into artifacts/packages: AIOps.Trace with the BPF objects embedded and libaiops_shim.so under runtimes/linux-x64/native.")
    .IsDependentOn("Build")
    .Does(() =>
{
    // A stale package of another version would be picked by the samples' floating version.
    CleanDirectory(packages);
    foreach (var project in packedProjects)
    {
        DotNetPack(repoRoot.CombineWithFilePath(project).FullPath, new DotNetPackSettings
        {
            Configuration = configuration,
            NoBuild = true,
            OutputDirectory = packages,
            MSBuildSettings = WarningsAsErrors(),
        });
    }
    // The engine's one dependency goes beside it, so `dotnet add package AIOps.Trace --source artifacts/packages`
    // needs no other feed: the copy restore put in the global packages folder.
    var nugetRoot = EnvironmentVariable("NUGET_PACKAGES") ?? System.IO.Path.Combine(EnvironmentVariable("HOME") ?? "/root", ".nuget/packages");
    var objectPoolVersion = System.Text.RegularExpressions.Regex.Match(System.IO.File.ReadAllText(repoRoot.CombineWithFilePath("Directory.Packages.props").FullPath),
        "Include=\"Microsoft.Extensions.ObjectPool\" Version=\"([^\"]+)\"").Groups[1].Value;
    var objectPool = System.IO.Path.Combine(nugetRoot, "microsoft.extensions.objectpool", objectPoolVersion, $"microsoft.extensions.objectpool.{objectPoolVersion}.nupkg");
    if (!System.IO.File.Exists(objectPool))
        throw new Exception($"{objectPool} is missing: restore the solution first (the Build target does).");
    CopyFileToDirectory(objectPool, packages);
    foreach (var package in GetFiles($"{packages.FullPath}/*.nupkg")) Information($"packed {package.GetFilename()}");
});

Task("Test")
    .Description("Runs the tests once, without rebuilding; they are kernel-facing and expect root. The packaged sample's test needs Pack; the container tests build the image from Publish's artifacts/bin.")
    .IsDependentOn("Build")
    .IsDependentOn("Pack")
    .IsDependentOn("Publish")
    .Does(() =>
{
    // Stale .trx files would be counted again.
    CleanDirectory(testResults);
    var settings = new DotNetTestSettings
    {
        Configuration = configuration,
        NoBuild = true,
        ResultsDirectory = testResults,
        Loggers = new List<string> { "trx", "console;verbosity=normal" },
        Filter = string.IsNullOrWhiteSpace(testFilter) ? null : testFilter,
        EnvironmentVariables = new Dictionary<string, string> { ["AIOPS_TRACE_REPO_ROOT"] = repoRoot.FullPath },
    };

    // dotnet test exits non-zero on a failed test; the counts are still printed before failing.
    Exception runFailure = null;
    try { DotNetTest(solution.FullPath, settings); }
    catch (Exception e) { runFailure = e; }

    var (executed, passed, failed, skipped) = ReadTrxCounters(testResults);
    Console.WriteLine($"tests: {passed} passed, {failed} failed, {skipped} skipped");
    if (failed > 0) throw new Exception($"{failed} test(s) failed.");
    if (executed == 0) throw new Exception("No test ran.");
    // No test has a skip condition: kernel-facing ones run for real (root, BTF kernel) or fail.
    if (skipped > 0) throw new Exception($"{skipped} test(s) skipped: every test is meant to run here.");
    if (runFailure != null) throw new Exception("dotnet test failed although every test passed.", runFailure);
});

Task("Bench")
    .Description("Runs BenchmarkDotNet and fails when a [BenchmarkCategory(\"ZeroAlloc\")] benchmark allocates.")
    .IsDependentOn("Build")
    .Does(() =>
{
    var results = benchArtifacts.Combine("results");
    if (DirectoryExists(results)) DeleteDirectory(results, new DeleteDirectorySettings { Recursive = true, Force = true });

    // Build already compiled the Release benchmarks when that is the configuration asked for.
    var run = new DotNetRunSettings { Configuration = "Release", NoBuild = configuration == "Release" };
    DotNetRun(benchProject.FullPath, new ProcessArgumentBuilder()
        .Append("--filter").AppendQuoted(benchFilter)
        .Append("--exporters").Append("json")
        .Append("--artifacts").AppendQuoted(benchArtifacts.FullPath), run);

    var reports = GetFiles($"{results.FullPath}/*-report-full*.json");
    if (reports.Count == 0) throw new Exception($"BenchmarkDotNet wrote no JSON report under {results}.");

    // BenchmarkDotNet's JSON has no categories, so ask it which benchmarks are ZeroAlloc.
    var zeroAlloc = ListBenchmarks(run, "ZeroAlloc");
    var offenders = new List<string>();
    Console.WriteLine($"{"benchmark",-70} {"mean ns",14} {"allocated B",12}");
    foreach (var report in reports.OrderBy(f => f.FullPath))
    {
        using var json = JsonDocument.Parse(System.IO.File.ReadAllText(report.FullPath));
        foreach (var benchmark in json.RootElement.GetProperty("Benchmarks").EnumerateArray())
        {
            var name = benchmark.GetProperty("FullName").GetString();
            var mean = NumberAt(benchmark, "Statistics", "Mean");
            var allocated = NumberAt(benchmark, "Memory", "BytesAllocatedPerOperation");
            var mustNotAllocate = IsInCategory(benchmark, "ZeroAlloc", zeroAlloc);
            Console.WriteLine($"{name,-70} {mean?.ToString("F1") ?? "n/a",14} {allocated?.ToString("F0") ?? "n/a",12}{(mustNotAllocate ? "  [ZeroAlloc]" : "")}");
            if (mustNotAllocate && !(allocated == 0)) offenders.Add($"{name} ({allocated?.ToString("F0") ?? "not measured"} B/op)");
        }
    }
    if (offenders.Count > 0) throw new Exception("ZeroAlloc benchmarks allocated: " + string.Join(", ", offenders));
});

Task("Publish")
    .Description("NativeAOT build of the CLI into artifacts/bin, with the native shim beside it.")
    .IsDependentOn("__BuildKernelSide")
    .Does(() =>
{
    DotNetPublish(cliProject.FullPath, new DotNetPublishSettings
    {
        Configuration = "Release",
        Runtime = "linux-x64",
        OutputDirectory = publishDir,
        MSBuildSettings = WarningsAsErrors().WithProperty("PublishAot", "true"),
    });
    CopyFileToDirectory(nativeShim, publishDir);
    if (!FileExists(cliBinary)) throw new Exception($"Publish produced no {cliBinary}.");
});

Task("Image")
    .Description("Builds the image without a registry (mmdebstrap base + the published binary, artifacts/image/aiops-trace.tar) and loads it into docker, podman and containerd as aiops-trace:local.")
    .IsDependentOn("Publish")
    .Does(() => RunOrFail(repoRoot.CombineWithFilePath("deploy/image/build-image.sh").FullPath, "--load"));

Task("Run")
    .Description("Publishes, then runs the main job, the sidecar `aiops-trace serve`, in the foreground; Ctrl-C stops it.")
    .IsDependentOn("Publish")
    .Does(() =>
{
    // The sidecar on loopback: it prints its URL (dashboard, /metrics, /api/v1) once listening.
    // Ctrl-C stops the server and detaches the programs: exit 0, or 128 + SIGINT when it does not
    // catch it, is a normal stop.
    var (exitCode, interrupted) = RunOnConsole(cliBinary.FullPath, "serve");
    if (exitCode != 0 && !(interrupted && exitCode == 130))
    {
        throw new Exception($"`aiops-trace serve` exited with code {exitCode}.");
    }
});

Task("Overhead")
    .Description("Traced/untraced ratios of the engine and runqlat under perf's pipe benchmark.")
    .IsDependentOn("Publish")
    .Does(() => RunOrFail(repoRoot.CombineWithFilePath("benchmarks/overhead.sh").FullPath));

Task("Scale")
    .Description("serve and snapshot over 100, 1,000 and 5,000 real cgroups of mostly idle tenants (SCALE_N, DURATION): cut time, CPU, RSS, /metrics.")
    .IsDependentOn("Publish")
    .Does(() => RunOrFail("python3", repoRoot.CombineWithFilePath("benchmarks/scale/scale.py").FullPath));

Task("Fuzz")
    .Description("AFL++ over the SharpFuzz harness (tools/AIOps.Trace.Fuzz): every parser of outside input for FUZZ_SECONDS (default 60) each; fails on any crash or hang.")
    .IsDependentOn("Build")
    .Does(() => RunOrFail(repoRoot.CombineWithFilePath("tools/AIOps.Trace.Fuzz/fuzz.sh").FullPath));

Task("Soak")
    .Description("serve for DURATION_MIN minutes (default 30) under perf's pipe benchmark and cgroup churn; fails if RSS, fds, map entries or state grow.")
    .IsDependentOn("Publish")
    .Does(() => RunOrFail("python3", repoRoot.CombineWithFilePath("benchmarks/soak/soak.py").FullPath));

Task("Scenarios")
    .Description("Runs every diagnosis scenario --runs times (default 20) and prints the confusion matrix.")
    .IsDependentOn("Build")
    .Does(() =>
{
    var rows = artifacts.Combine("scenarios");
    if (DirectoryExists(rows)) CleanDirectory(rows);
    Exception runFailure = null;
    try
    {
        DotNetTest(solution.FullPath, new DotNetTestSettings
        {
            Configuration = configuration,
            NoBuild = true,
            Filter = "Category=Scenario",
            Loggers = new List<string> { "console;verbosity=normal" },
            EnvironmentVariables = new Dictionary<string, string>
            {
                ["AIOPS_TRACE_REPO_ROOT"] = repoRoot.FullPath,
                ["AIOPS_SCENARIO_RUNS"] = scenarioRuns.ToString(),
            },
        });
    }
    catch (Exception e) { runFailure = e; }
    PrintConfusionMatrix(rows);
    if (runFailure != null) throw new Exception("A scenario missed its target (19 of 20 right, never another throttled outcome).", runFailure);
});

Task("Detection")
    .Description("Scores detection on held-out runs with baselines, intervals, open-set and label-budget results: re-scores the recording committed in docs/detection, or with --detection-runs=N records N fresh runs first (artifacts/detection/report.md).")
    .IsDependentOn("Build")
    .Does(() =>
{
    var detection = artifacts.Combine("detection");
    if (DirectoryExists(detection)) CleanDirectory(detection);
    EnsureDirectoryExists(detection);
    var docs = repoRoot.Combine("docs/detection");
    var windows = docs.CombineWithFilePath("windows.tsv");
    var recording = docs.CombineWithFilePath("recording.tsv");
    var report = detection.CombineWithFilePath("report.md");
    var command = "./build.sh --target=Detection";

    if (detectionRuns > 0)
    {
        // The recorder: one test case per block of episodes, each appending its labelled windows.
        windows = detection.CombineWithFilePath("windows.tsv");
        recording = detection.CombineWithFilePath("recording.tsv");
        command = $"./build.sh --target=Detection --detection-runs={detectionRuns}";
        Exception recordFailure = null;
        try
        {
            DotNetTest(solution.FullPath, new DotNetTestSettings
            {
                Configuration = configuration,
                NoBuild = true,
                Filter = "Category=Detection",
                Loggers = new List<string> { "console;verbosity=normal" },
                EnvironmentVariables = new Dictionary<string, string>
                {
                    ["AIOPS_TRACE_REPO_ROOT"] = repoRoot.FullPath,
                    ["AIOPS_DETECTION_RUNS"] = detectionRuns.ToString(),
                },
            });
        }
        catch (Exception e) { recordFailure = e; }
        if (!FileExists(windows)) throw new Exception("The recorder wrote no windows.", recordFailure);
        if (recordFailure != null) Warning("A block failed to record (see the test output above); the blocks recorded are scored.");
    }

    // The evaluation tool scores what was recorded and prints the report.
    DotNetRun(repoRoot.CombineWithFilePath("tools/AIOps.Trace.Evaluation/AIOps.Trace.Evaluation.csproj").FullPath,
        new ProcessArgumentBuilder()
            .Append("--windows").AppendQuoted(windows.FullPath)
            .Append("--recording").AppendQuoted(recording.FullPath)
            .Append("--out").AppendQuoted(report.FullPath)
            .Append("--command").AppendQuoted(command),
        new DotNetRunSettings { Configuration = configuration, NoBuild = true });
});

Task("KernelMatrix")
    .Description("Boots other Debian kernels under qemu (--kernels=bullseye,bookworm,trixie, --tiers=auto,perfbuf:raw_tp:kprobe,... as transport:attach[:throttle hook], --layouts=hybrid,v2 cgroup layouts), checks the engine against each kernel's own counters and writes docs/kernel-matrix.md.")
    .IsDependentOn("Publish")
    .Does(() =>
{
    var matrix = artifacts.Combine("kernel-matrix");
    var suites = matrixKernels.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    var run = new ProcessStartInfo(repoRoot.CombineWithFilePath("tests/kernel-matrix/run.sh").FullPath) { UseShellExecute = false };
    foreach (var suite in suites) run.ArgumentList.Add(suite);
    run.Environment["TIERS"] = matrixTiers;
    run.Environment["LAYOUTS"] = matrixLayouts.Replace(',', ' ');
    var clock = Stopwatch.StartNew();
    using (var process = Process.Start(run))
    {
        process.WaitForExit();
        if (process.ExitCode != 0) throw new Exception($"tests/kernel-matrix/run.sh exited with code {process.ExitCode}.");
    }
    // The judging and the pages live in tools/AIOps.Trace.KernelMatrix: the committed page
    // docs/kernel-matrix.md and the generated tables of docs/kernel-support.md.
    var (exitCode, interrupted) = RunOnConsole("dotnet", "run", "--project", kernelMatrixTool.FullPath, "-c", configuration, "--",
        "--matrix", matrix.FullPath, "--tiers", matrixTiers, "--minutes", clock.Elapsed.TotalMinutes.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture),
        "--command", $"./build.sh --target=KernelMatrix --kernels={matrixKernels} --tiers={matrixTiers} --layouts={matrixLayouts}",
        "--page", repoRoot.CombineWithFilePath("docs/kernel-matrix.md").FullPath,
        "--support", repoRoot.CombineWithFilePath("docs/kernel-support.md").FullPath);
    if (exitCode != 0)
        throw new Exception($"kernel-matrix checks failed or could not be judged (exit code {exitCode}{(interrupted ? " after Ctrl-C" : "")}); see docs/kernel-matrix.md and artifacts/kernel-matrix/results.md.");
});

Task("Default")
    .IsDependentOn("Build");

RunTarget(target);

//////////////////////////////////////////////////////////////////////
// HELPERS
//////////////////////////////////////////////////////////////////////

// Runs a program on this console, so its output streams live and Ctrl-C reaches it. Ctrl-C goes to
// the whole foreground process group: Cake ignores it and waits, so the child can stop cleanly.
(int ExitCode, bool Interrupted) RunOnConsole(string program, params string[] arguments)
{
    var interrupted = false;
    using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
    {
        context.Cancel = true;
        interrupted = true;
    });
    var startInfo = new ProcessStartInfo(program) { UseShellExecute = false, WorkingDirectory = repoRoot.FullPath };
    foreach (var argument in arguments) startInfo.ArgumentList.Add(argument);

    using var process = Process.Start(startInfo);
    process.WaitForExit();
    return (process.ExitCode, interrupted);
}

void RunOrFail(string program, params string[] arguments)
{
    var (exitCode, interrupted) = RunOnConsole(program, arguments);
    if (exitCode != 0)
    {
        throw new Exception($"`{string.Join(" ", arguments.Prepend(program))}` exited with code {exitCode}{(interrupted ? " after Ctrl-C" : "")}.");
    }
}

// Sums ResultSummary/Counters over every .trx in the folder. xunit's skipped tests are results with
// outcome NotExecuted, yet VSTest leaves the notExecuted counter at 0 and only leaves them out of
// executed: skipped is whichever of the two says more.
(int Executed, int Passed, int Failed, int Skipped) ReadTrxCounters(DirectoryPath folder)
{
    int executed = 0, passed = 0, failed = 0, skipped = 0;
    foreach (var trx in GetFiles($"{folder.FullPath}/**/*.trx"))
    {
        var counters = XDocument.Load(trx.FullPath).Descendants().First(e => e.Name.LocalName == "Counters");
        int Count(string attribute) => int.TryParse(counters.Attribute(attribute)?.Value, out var n) ? n : 0;
        executed += Count("executed");
        passed += Count("passed");
        failed += Count("failed") + Count("error") + Count("timeout") + Count("aborted");
        skipped += Math.Max(Count("notExecuted"), Count("total") - Count("executed"));
    }
    return (executed, passed, failed, skipped);
}

// Full names ("Namespace.Type.Method") of the benchmarks in a category, from BenchmarkDotNet's --list.
HashSet<string> ListBenchmarks(DotNetRunSettings run, string category)
{
    var arguments = new ProcessArgumentBuilder()
        .Append("run").Append("--project").AppendQuoted(benchProject.FullPath)
        .Append("-c").Append(run.Configuration);
    if (run.NoBuild) arguments.Append("--no-build");
    arguments.Append("--").Append("--list").Append("flat").Append("--anyCategories").AppendQuoted(category);

    var exitCode = StartProcess("dotnet", new ProcessSettings { Arguments = arguments, RedirectStandardOutput = true }, out var lines);
    if (exitCode != 0) throw new Exception($"Listing the {category} benchmarks failed with code {exitCode}.");
    return lines.Select(l => l.Trim()).Where(l => l.Length > 0).ToHashSet();
}

// The JSON's own "Categories" when a later BenchmarkDotNet writes them, else the --list answer.
// FullName carries parameters ("T.M(N: 1)") and '+' for nested types, which --list does not.
bool IsInCategory(JsonElement benchmark, string category, HashSet<string> listed)
{
    if (benchmark.TryGetProperty("Categories", out var categories) && categories.ValueKind == JsonValueKind.Array)
    {
        return categories.EnumerateArray().Any(c => c.GetString() == category);
    }
    var fullName = benchmark.GetProperty("FullName").GetString() ?? "";
    var parameters = fullName.IndexOf('(');
    return listed.Contains((parameters >= 0 ? fullName[..parameters] : fullName).Replace('+', '.'));
}

double? NumberAt(JsonElement element, string objectName, string property) =>
    element.TryGetProperty(objectName, out var inner) && inner.ValueKind == JsonValueKind.Object
        && inner.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number
        ? value.GetDouble()
        : null;

// Rows are "scenario, expected, decided, detail": prints expected x decided counts and the accuracy,
// and writes the same table to artifacts/scenarios/matrix.txt for the README.
// One matrix per resource, from the "scenario, expected, decided" rows each scenario test
// appends to artifacts/scenarios/<resource>.tsv.
void PrintConfusionMatrix(DirectoryPath rowsFolder)
{
    var files = DirectoryExists(rowsFolder) ? System.IO.Directory.GetFiles(rowsFolder.FullPath, "*.tsv").OrderBy(f => f).ToList() : new List<string>();
    if (files.Count == 0) { Console.WriteLine("no scenario rows were written"); return; }
    var text = new System.Text.StringBuilder();
    foreach (var file in files)
    {
        var resource = System.IO.Path.GetFileNameWithoutExtension(file);
        var rows = System.IO.File.ReadAllLines(file).Select(l => l.Split('\t')).Where(f => f.Length >= 3).ToList();
        var expected = rows.Select(r => r[1]).Distinct().OrderBy(x => x).ToList();
        var decided = rows.Select(r => r[2]).Union(expected).Distinct().OrderBy(x => x).ToList();
        text.AppendLine($"{resource}: {rows.Count(r => r[1] == r[2])}/{rows.Count} decided right ({100.0 * rows.Count(r => r[1] == r[2]) / Math.Max(1, rows.Count):0.#}%)");
        text.AppendLine("expected \\ decided".PadRight(28) + string.Join(" ", decided.Select(d => d.PadLeft(26))));
        foreach (var e in expected)
            text.AppendLine(e.PadRight(28) + string.Join(" ", decided.Select(d => rows.Count(r => r[1] == e && r[2] == d).ToString().PadLeft(26))));
        text.AppendLine();
    }
    Console.WriteLine(text);
    System.IO.File.WriteAllText(rowsFolder.CombineWithFilePath("matrix.txt").FullPath, text.ToString());
}
