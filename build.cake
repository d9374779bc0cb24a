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
    foreach (var pattern in new[] { "src/*/bin", "src/*/obj", "tests/*/bin", "tests/*/obj", "benchmarks/*/bin", "benchmarks/*/obj" })
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

Task("Test")
    .Description("Runs the tests once, without rebuilding; they are kernel-facing and expect root.")
    .IsDependentOn("Build")
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
    .Description("Boots other Debian kernels under qemu (--kernels=bullseye,bookworm,trixie, --tiers=auto,perfbuf:raw_tp:kprobe,... as transport:attach[:throttle hook]) and checks the engine against each kernel's own counters.")
    .IsDependentOn("Publish")
    .Does(() =>
{
    var matrix = artifacts.Combine("kernel-matrix");
    var suites = matrixKernels.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    var run = new ProcessStartInfo(repoRoot.CombineWithFilePath("tests/kernel-matrix/run.sh").FullPath) { UseShellExecute = false };
    foreach (var suite in suites) run.ArgumentList.Add(suite);
    run.Environment["TIERS"] = matrixTiers;
    var clock = Stopwatch.StartNew();
    using (var process = Process.Start(run))
    {
        process.WaitForExit();
        if (process.ExitCode != 0) throw new Exception($"tests/kernel-matrix/run.sh exited with code {process.ExitCode}.");
    }
    var releases = System.IO.File.ReadAllLines(matrix.CombineWithFilePath("kernels.txt").FullPath).Where(l => l.Length > 0).ToList();
    var report = KernelMatrixReport(matrix, releases, clock.Elapsed);
    Console.WriteLine(report.Markdown);
    System.IO.File.WriteAllText(matrix.CombineWithFilePath("results.md").FullPath, report.Markdown);
    Information($"kernel matrix: {report.Passed} checks passed, {report.Failed} failed, {releases.Count} kernels in {clock.Elapsed.TotalMinutes:0.0} min; artifacts/kernel-matrix/results.md");
    if (report.Failed > 0) throw new Exception($"{report.Failed} kernel-matrix check(s) failed (see artifacts/kernel-matrix/results.md).");
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

// The kernel matrix's verdicts, from the raw figures each guest printed on its second serial port
// (tests/kernel-matrix/init): the engine's snapshot JSON beside the kernel's own counters, judged
// with the tolerances of the kernel tests (ThrottlingTests, PreemptionTests, RunQueueLatencyTests).
(string Markdown, int Passed, int Failed) KernelMatrixReport(DirectoryPath matrix, List<string> releases, TimeSpan elapsed)
{
    var checks = new List<(string Kernel, string Tier, string Check, string Engine, string Kernel_, string Tolerance, bool Pass)>();
    // Worst relative deviation per kernel, mechanism and measure, for the summary table.
    var worst = new Dictionary<(string Kernel, string Tier, string Measure), double>();
    var kernels = new System.Text.StringBuilder();
    kernels.AppendLine("| kernel | boot + checks | BTF | ring buffer | perf buffer | tp_btf | raw_tp | tracepoint | fentry | kprobes | doctor's tier |");
    kernels.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
    foreach (var release in releases)
    {
        var dir = matrix.Combine(release);
        var boot = System.IO.File.ReadAllLines(dir.CombineWithFilePath("boot.txt").FullPath)
            .Select(l => l.Split('=', 2)).ToDictionary(f => f[0], f => f[1]);
        var resultsFile = dir.CombineWithFilePath("results.log").FullPath;
        var lines = System.IO.File.Exists(resultsFile)
            ? System.IO.File.ReadAllLines(resultsFile).Where(l => l.StartsWith("AIOPS ")).Select(l => l[6..]).ToList()
            : new List<string>();
        string Line(string key) => lines.FirstOrDefault(l => l.StartsWith(key + " "))?[(key.Length + 1)..];
        void Check(string tier, string check, string engine, string kernel, string tolerance, bool pass) =>
            checks.Add((release, tier, check, engine, kernel, tolerance, pass));
        void Deviation(string tier, string measure, double engine, double kernel)
        {
            double d = kernel == 0 ? (engine == 0 ? 0 : 1) : Math.Abs(engine - kernel) / kernel;
            worst[(release, tier, measure)] = Math.Max(d, worst.GetValueOrDefault((release, tier, measure)));
        }

        bool done = Line("done") != null;
        Check("-", "boot", $"{boot["seconds"]} s, qemu exit {boot["qemu_exit"]}{(boot["timed_out"] == "yes" ? ", timed out" : "")}",
            done ? "guest finished" : "guest did not finish", "powers off in time", done && boot["qemu_exit"] == "0");

        var doctorText = Line("doctor");
        string Feature(JsonElement d, string name) =>
            d.GetProperty("features").TryGetProperty(name, out var f) ? (f.GetProperty("available").GetBoolean() ? "yes" : "no") : "?";
        if (doctorText != null && doctorText.TrimStart().StartsWith("{"))
        {
            using var doctor = JsonDocument.Parse(doctorText);
            var d = doctor.RootElement;
            var t = d.GetProperty("tier");
            kernels.AppendLine($"| {release} | {boot["seconds"]} s | {Feature(d, "btf")} | {Feature(d, "ringbuf")} | {Feature(d, "perf_event_array")} | " +
                $"{Feature(d, "tp_btf")} | {Feature(d, "raw_tp")} | {Feature(d, "tracepoint")} | {Feature(d, "fentry")} | {Feature(d, "kprobes")} | " +
                $"{t.GetProperty("mode").GetString()}: {t.GetProperty("transport").GetString()} + {t.GetProperty("attach").GetString()}, throttling {ThrottleSource(t)} |");
        }
        else
        {
            kernels.AppendLine($"| {release} | {boot["seconds"]} s | doctor printed no JSON: {doctorText ?? "nothing"} |||||||||");
        }
        Check("-", "doctor --json", doctorText == null ? "nothing" : doctorText.TrimStart().StartsWith("{") ? "printed" : "no JSON", "-", "a JSON document",
            doctorText != null && doctorText.TrimStart().StartsWith("{"));
        var requested = matrixTiers.Split(',', StringSplitOptions.RemoveEmptyEntries).Length;
        var ran = lines.Count(l => l.StartsWith("tier "));
        Check("-", "tiers run", $"{ran}", $"{requested} asked (--tiers={matrixTiers})", "all", ran == requested);

        foreach (var tier in lines.Where(l => l.StartsWith("tier ")).Select(l => l.Split(' ')[1]))
        {
            // Throttling: a 20% quota on a busy loop for 3 s, against cpu.stat read before and after.
            var throttle = Snapshot(Line($"throttle/{tier} json"));
            var mechanism = throttle.HasValue ? Mechanism(throttle.Value) : tier;
            var before = CpuStatLine(Line($"throttle/{tier} cpu_stat_before"));
            var after = CpuStatLine(Line($"throttle/{tier} cpu_stat_after"));
            var web = throttle.HasValue ? ContainerJson(throttle.Value, "/aiops-mx-throttle") : null;
            if (web is JsonElement c && before != null && after != null)
            {
                var th = c.GetProperty("throttling");
                long kernelNs = after["throttled_time"] - before["throttled_time"], kernelThrottled = after["nr_throttled"] - before["nr_throttled"];
                long kernelPeriods = after["nr_periods"] - before["nr_periods"];
                long ns = th.GetProperty("throttled_ns").GetInt64(), throttled = th.GetProperty("throttled_periods").GetInt64(), periods = th.GetProperty("periods").GetInt64();
                Check(mechanism, "throttled time", $"{ns / 1e6:0.0} ms", $"{kernelNs / 1e6:0.0} ms ({kernelThrottled} throttled periods)", "5%, 20+ throttled periods",
                    kernelThrottled >= 20 && Within(ns, kernelNs, 0.05));
                Deviation(mechanism, "throttled time", ns, kernelNs);
                Check(mechanism, "throttled periods", $"{throttled}", $"{kernelThrottled}", "1", Math.Abs(throttled - kernelThrottled) <= 1);
                Check(mechanism, "periods", $"{periods}", $"{kernelPeriods}", "1", Math.Abs(periods - kernelPeriods) <= 1);
                // ThrottlingTests wants 400-800 ms for 3 s at 20%; under emulation `sleep 3` stretches,
                // so the same bounds (2/3 to 4/3 of 20%) apply to the loop's measured lifetime.
                long usage = c.GetProperty("cpu_usage_ns").GetInt64();
                if (double.TryParse(Line($"throttle/{tier} loop_seconds"), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var loopSeconds))
                {
                    double quotaNs = 0.2 * loopSeconds * 1e9;
                    Check(mechanism, "CPU usage at a 20% quota", $"{usage / 1e6:0} ms", $"20% of {loopSeconds:0.00} s = {quotaNs / 1e6:0} ms", "2/3 to 4/3",
                        usage >= quotaNs * 2 / 3 && usage <= quotaNs * 4 / 3);
                }
                else
                {
                    Check(mechanism, "CPU usage at a 20% quota", $"{usage / 1e6:0} ms", "the guest did not report the loop's lifetime", "2/3 to 4/3", false);
                }
                long waits = c.GetProperty("runq_latency_us").GetProperty("count").GetInt64();
                Check(mechanism, "run-queue waits at unthrottle", $"{waits}", $"{kernelThrottled} throttles", "at least half", waits >= kernelThrottled / 2);
                Check(mechanism, "lost events (throttling)", $"{throttle.Value.GetProperty("lost_events").GetInt64()}", "-", "0", throttle.Value.GetProperty("lost_events").GetInt64() == 0);
                // The throttle hook: the one asked for (the tier's third part; auto takes the engine's
                // choice), the one the snapshot names, and the one the kernel shows attached (the
                // process's BPF programs and links), agreeing, with eBPF throttle events seen.
                var parts = tier.Split(':');
                string asked = parts.Length > 2 ? parts[2] : "auto";
                string engineHook = throttle.Value.GetProperty("kernel").TryGetProperty("throttle_hook", out var h) ? h.GetString() : "?";
                var (kernelHook, kernelWhy) = AttachedHook(Line($"throttle/{tier} bpf"));
                long events = th.GetProperty("events").GetInt64();
                Check(mechanism, "throttle hook", $"{engineHook}, {events} throttle events", $"{kernelHook} attached ({kernelWhy})",
                    asked == "auto" ? "as attached" : $"{asked} (forced), as attached",
                    engineHook == kernelHook && (asked == "auto" || asked == engineHook) && (engineHook == "none" ? events == 0 : events > 0));
            }
            else
            {
                Check(mechanism, "throttling", "no figures", Line($"throttle/{tier} error") ?? Line($"throttle/{tier} stderr") ?? "no cpu.stat", "-", false);
            }

            // Two busy loops in two cgroups on CPU 1 for 4 s, against /proc/<pid>/status and schedstat.
            var contend = Snapshot(Line($"contend/{tier} json"));
            mechanism = contend.HasValue ? Mechanism(contend.Value) : tier;
            foreach (var (me, other) in new[] { ("a", "b"), ("b", "a") })
            {
                var truth = Line($"contend/{tier} truth_{me}");
                var cg = contend.HasValue ? ContainerJson(contend.Value, "/aiops-mx-" + me) : null;
                if (truth == null || cg is not JsonElement x)
                {
                    Check(mechanism, $"contention ({me})", "no figures", Line($"contend/{tier} error") ?? Line($"contend/{tier} stderr") ?? "no counters", "-", false);
                    continue;
                }
                var fields = truth.Split(' ').Select(f => f.Split('=', 2)).ToDictionary(f => f[0], f => f[1]);
                long nv = long.Parse(fields["nonvoluntary_ctxt_switches"]);
                var sched = fields["schedstat"].Split(',').Select(long.Parse).ToArray();
                var rq = x.GetProperty("runq_latency_us");
                long count = rq.GetProperty("count").GetInt64();
                double sumNs = rq.GetProperty("sum").GetDouble() * 1000;
                var pre = x.GetProperty("preemptions");
                long inv = pre.GetProperty("involuntary").GetInt64(), byOther = pre.GetProperty("by_other_cgroup").GetInt64();
                var top = pre.GetProperty("top_preemptors").EnumerateArray().Select(p => p.GetProperty("cgroup_path").GetString()).FirstOrDefault() ?? "none";
                Deviation(mechanism, "preemptions", inv, nv);
                Deviation(mechanism, "run-queue waits", count, sched[2]);
                Deviation(mechanism, "run-queue time", sumNs, sched[1]);
                Check(mechanism, $"preemptions ({me})", $"{inv}", $"{nv} nonvoluntary switches", "5%, 100+", nv > 100 && Within(inv, nv, 0.05));
                Check(mechanism, $"preempted by the other ({me})", $"{byOther}, top {top}", $"/aiops-mx-{other}", "over half, top is the other",
                    byOther > inv / 2 && top == "/aiops-mx-" + other);
                Check(mechanism, $"run-queue waits ({me})", $"{count}", $"{sched[2]} timeslices", "10%, 100+", sched[2] > 100 && Within(count, sched[2], 0.10));
                Check(mechanism, $"run-queue time ({me})", $"{sumNs / 1e6:0.0} ms", $"{sched[1] / 1e6:0.0} ms run_delay", "10%", Within(sumNs, sched[1], 0.10));
            }
            if (contend.HasValue)
                Check(mechanism, "lost events (contention)", $"{contend.Value.GetProperty("lost_events").GetInt64()}", "-", "0", contend.Value.GetProperty("lost_events").GetInt64() == 0);
        }
    }

    var text = new System.Text.StringBuilder();
    var accel = releases.Select(r => System.IO.File.ReadAllLines(matrix.Combine(r).CombineWithFilePath("boot.txt").FullPath)[0].Split('=', 2)[1]).FirstOrDefault() ?? "";
    text.AppendLine($"Kernel matrix, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, qemu with {accel}, {releases.Count} kernels in {elapsed.TotalMinutes:0.0} min " +
        $"(`./build.sh --target=KernelMatrix --kernels={matrixKernels} --tiers={matrixTiers}`)");
    text.AppendLine();
    text.Append(kernels);
    text.AppendLine();
    text.AppendLine("Worst deviation from the kernel's own counter, per kernel and mechanism (tolerances: throttled time 5%, preemptions 5%, run-queue waits and time 10%):");
    text.AppendLine();
    text.AppendLine("| kernel | mechanism | throttled time vs `cpu.stat` | preemptions vs `nonvoluntary_ctxt_switches` | run-queue waits vs schedstat timeslices | run-queue time vs schedstat `run_delay` | checks |");
    text.AppendLine("|---|---|---|---|---|---|---|");
    foreach (var group in checks.Where(c => c.Tier != "-").GroupBy(c => (c.Kernel, c.Tier)))
    {
        string W(string measure) => worst.TryGetValue((group.Key.Kernel, group.Key.Tier, measure), out var d) ? $"{d * 100:0.0}%" : "n/a";
        text.AppendLine($"| {group.Key.Kernel} | {group.Key.Tier} | {W("throttled time")} | {W("preemptions")} | {W("run-queue waits")} | {W("run-queue time")} | " +
            $"{group.Count(c => c.Pass)}/{group.Count()} pass |");
    }
    text.AppendLine();
    text.AppendLine("| kernel | mechanism | check | engine | kernel's counter | tolerance | result |");
    text.AppendLine("|---|---|---|---|---|---|---|");
    foreach (var c in checks)
        text.AppendLine($"| {c.Kernel} | {c.Tier} | {c.Check} | {c.Engine} | {c.Kernel_} | {c.Tolerance} | {(c.Pass ? "pass" : "**FAIL**")} |");
    return (text.ToString(), checks.Count(c => c.Pass), checks.Count(c => !c.Pass));
}

bool Within(double value, double reference, double tolerance) =>
    value >= reference * (1 - tolerance) && value <= reference * (1 + tolerance);

JsonElement? Snapshot(string json)
{
    if (json == null || !json.TrimStart().StartsWith("{")) return null;
    try { return JsonDocument.Parse(json).RootElement.Clone(); }
    catch (JsonException) { return null; }
}

string Mechanism(JsonElement snapshot)
{
    var k = snapshot.GetProperty("kernel");
    return $"{k.GetProperty("ring").GetString()} + {k.GetProperty("attach").GetString()}, throttling {ThrottleSource(k)}";
}

// "fentry+cgroupfs" or "kprobe+cgroupfs" when the throttle programs ran with that hook, else throttle_source
// (from a snapshot's "kernel" or doctor's "tier" object; older builds print no throttle_hook).
string ThrottleSource(JsonElement k) =>
    k.TryGetProperty("throttle_hook", out var hook) && hook.GetString() is string h && h != "none"
        ? $"{h}+cgroupfs" : k.GetProperty("throttle_source").GetString();

// The throttle hook the guest kernel shows attached to the snapshot process (tests/kernel-matrix/init
// bpf_objects: "prog:<prog_type>:<run_cnt>" and "link:<link_type>:<attach_type>" words): kprobe
// programs are BPF_PROG_TYPE_KPROBE (2), fentry ones hang off links of type "tracing".
(string Hook, string Why) AttachedHook(string line)
{
    if (line == null) return ("?", "the guest did not list the BPF objects");
    var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => w.Split(':')).ToList();
    var kprobes = words.Where(w => w[0] == "prog" && w.Length > 2 && w[1] == "2").ToList();
    int tracingLinks = words.Count(w => w[0] == "link" && w.Length > 1 && w[1] == "tracing");
    long runs = kprobes.Sum(w => long.TryParse(w.Length > 2 ? w[2] : "", out var n) ? n : 0);
    string why = $"{kprobes.Count} kprobe programs run {runs} times, {tracingLinks} fentry links";
    return (kprobes.Count, tracingLinks) switch
    {
        ( >= 2, 0) when runs > 0 => ("kprobe", why),
        (0, >= 2) => ("fentry", why),
        (0, 0) => ("none", why),
        _ => ("unclear", why),
    };
}

JsonElement? ContainerJson(JsonElement snapshot, string cgroupPath) =>
    snapshot.GetProperty("containers").EnumerateArray().Where(c => c.GetProperty("cgroup_path").GetString() == cgroupPath)
        .Select(c => (JsonElement?)c).FirstOrDefault();

// "nr_periods 2 nr_throttled 0 throttled_time 0 ..." (cpu.stat on one line).
Dictionary<string, long> CpuStatLine(string line)
{
    if (line == null) return null;
    var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    var d = new Dictionary<string, long>();
    for (int i = 0; i + 1 < f.Length; i += 2) if (long.TryParse(f[i + 1], out var v)) d[f[i]] = v;
    return d.ContainsKey("throttled_time") && d.ContainsKey("nr_throttled") && d.ContainsKey("nr_periods") ? d : null;
}
