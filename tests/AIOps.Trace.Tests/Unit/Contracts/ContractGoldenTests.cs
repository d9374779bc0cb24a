using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AIOps.Trace.Bpf;
using AIOps.Trace.Contracts;
using AIOps.Trace.Diagnosis;
using AIOps.Trace.Server.Api;

namespace AIOps.Trace.Tests.Unit.Contracts;

/// <summary>
/// The shared JSON contracts, each against a golden file in Golden/: a renamed, added or removed
/// property fails here, so a change of a document is a visible change of its file. And the CLI
/// and the API write one diagnosis the same way, because both write <see cref="DiagnosisDocument"/>.
/// </summary>
public sealed class ContractGoldenTests
{
    private static readonly ResourceDiagnosis Cpu = new("cpu", Outcomes.CapThrottled,
        [
            new DiagnosisStep("throttled time rising", "throttled_ms_per_s", 5.123456, 1, true),
            new DiagnosisStep("run-queue latency high", "runq_p99_us", double.NaN, 1000, false),
        ], "throttled by its CPU quota");

    private static readonly ResourceDiagnosis Memory = new("memory", Outcomes.Undecidable, [], "no verdict", "no PSI on this kernel");

    private static readonly CpuEvidenceDocument Evidence = new(120.5, 4100.2, 0.2,
        [new NoisyNeighbourDocument("/kubepods/batch", 42, 1.5)]);

    [Fact]
    public void Diagnose_document() =>
        Golden("diagnose.json", JsonSerializer.Serialize(new DiagnoseDocument(5.002, 0,
        [
            new DiagnosedContainerDocument("/kubepods/web", "web", "cgroup", false, DiagnosisDocument.From(Cpu), DiagnosisDocument.From(Memory),
                null, null, Evidence),
        ]), TraceJson.Default.DiagnoseDocument));

    [Fact]
    public void Snapshot_document()
    {
        using var s = new EngineSnapshot(null)
        {
            Kernel = new KernelSummary("6.18.0", true, "ringbuf", "tp_btf", "cgroupfs", "no throttle hook: cpu.stat", WaitStamps: "sched_info"),
            Host = new HostSummary(2, 0.81234),
            WindowSeconds = 2.00049,
            LostEvents = 3,
            SkippedEvents = 1,
            KernelCounters = default,
        };
        var web = new ContainerSnapshot
        {
            CgroupPath = "/kubepods/web", CgroupId = 4242, Name = "shop/web-1/nginx", Runtime = "containerd",
            Identity = new AIOps.Trace.Cgroups.ContainerIdentity("3f4e8a9b2c1d", "containerd", "3f4e8a9b2c1d00", "5e6f7a8b-9c0d", "burstable", "web-1", "shop", "nginx", "nginx:1.27"),
            PreemptedBySame = 1, PreemptedByOther = 5, PreemptedByHost = 2,
            Throttling = new ThrottlingFigures(20, 4, 12_000_000, 0, 0, "cgroupfs"),
            CpuUsageNs = 400_000_000,
        };
        web.RunQueue.Record(1_500);
        web.RunQueue.Record(30_000);
        web.TopPreemptors.Add(new Preemptor("/kubepods/batch", 77, 5));
        s.Containers.Add(web);
        s.Containers.Add(new ContainerSnapshot { CgroupPath = "/system.slice/cron.service", Name = "cron.service", Runtime = "systemd", Ended = true, CpuUsageNs = -1 });
        Golden("snapshot.json", JsonSerializer.Serialize(SnapshotDocument.From(s), TraceJson.Default.SnapshotDocument));
    }

    [Fact]
    public void Doctor_document()
    {
        static FeatureCheck F(string name, bool available) => new(name, available, available ? "5.8+" : "EPERM at load");
        var tier = new TierChoice(TierMode.Ebpf, TierTransport.RingBuf, TierAttach.TpBtf, TierThrottleSource.Cgroupfs, "tp_btf loads; no throttle hook",
            ["per-CPU throttle events"], "bpf_get_current_cgroup_id", "the helper is there (4.18+)", TierThrottleHook.None)
        {
            Attempts = [new TierAttempt(TierAttach.TpBtf, TierThrottleHook.Fentry, "fentry: EPERM"), new TierAttempt(TierAttach.TpBtf, TierThrottleHook.None, null)],
        };
        var f = new KernelFeatures("6.18.0", F("btf", true), F("bpf_syscall", true), F("ring_buffer", true), F("perf_event_array", true),
            F("tp_btf", true), F("raw_tp", true), F("tracepoint", true), F("tracefs", true), F("kprobes", false), F("fentry", false),
            F("cgroup_id_helper", true), F("window_flush", true), "hybrid", [new ControllerMount("cpu", 1, "/sys/fs/cgroup/cpu,cpuacct")],
            [F("CAP_BPF", true), F("CAP_SYS_ADMIN", false)], tier);
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            AIOps.Trace.Cli.DoctorCommand.WriteJson(w, f);
        Golden("doctor.json", Encoding.UTF8.GetString(buffer.ToArray()));
    }

    [Fact]
    public void Api_container_detail_document() =>
        Golden("container-detail.json", JsonSerializer.Serialize(Detail(), new JsonSerializerOptions(ApiJson.Default.Options) { WriteIndented = true }));

    [Fact]
    public void The_cli_and_the_api_write_a_diagnosis_and_its_evidence_alike()
    {
        JsonNode cli = JsonNode.Parse(JsonSerializer.Serialize(new DiagnoseDocument(1, 0,
            [new DiagnosedContainerDocument("/kubepods/web", "web", "cgroup", false, DiagnosisDocument.From(Cpu), null, null, null, Evidence)]),
            TraceJson.Default.DiagnoseDocument))!["containers"]![0]!;
        JsonNode api = JsonNode.Parse(JsonSerializer.Serialize(Detail(), ApiJson.Default.ContainerDetailDocument))!;

        Assert.True(JsonNode.DeepEquals(cli["cpu"], api["diagnosis"]!["cpu"]), $"{cli["cpu"]}\n{api["diagnosis"]!["cpu"]}");
        Assert.True(JsonNode.DeepEquals(cli["cpu_evidence"], api["cpu_evidence"]), $"{cli["cpu_evidence"]}\n{api["cpu_evidence"]}");
        // A noisy neighbour is named by "cgroup" in both, as every container is in the API.
        Assert.Equal("/kubepods/batch", (string?)api["cpu_evidence"]!["noisy_neighbours"]![0]!["cgroup"]);
    }

    private static ContainerDetailDocument Detail()
    {
        var view = new ContainerView("42", "/kubepods/web", "web", "cgroup", null, null, null, null, null, null, null, false,
            DateTimeOffset.UnixEpoch, null, new CumulativeFigures(0, 0, 0, 0, new PreemptionCounts(0, 0, 0, 0), 0, 0, 0, 0), Cpu.Outcome, null);
        return new ContainerDetailDocument("node-1", 7, [1, 2], view, [0, 1, 2],
            new Dictionary<string, ResourceDiagnosis> { ["cpu"] = Cpu, ["memory"] = Memory }, Evidence, [new PreemptorView("/kubepods/batch", 42)]);
    }

    /// <summary>Compares with Golden/<paramref name="name"/>; a missing file is written (review and commit it) and fails.</summary>
    private static void Golden(string name, string actual)
    {
        // From the repository root, not [CallerFilePath]: a CI build maps source paths to /_/.
        string path = Path.Combine(Kernel.StructLayoutTests.RepoRoot(), "tests/AIOps.Trace.Tests/Unit/Contracts/Golden", name);
        actual = actual.ReplaceLineEndings("\n") + "\n";
        if (!File.Exists(path))
        {
            File.WriteAllText(path, actual, new UTF8Encoding(false));
            Assert.Fail($"{path} did not exist: written now; review it and commit it");
        }
        Assert.Equal(File.ReadAllText(path).ReplaceLineEndings("\n"), actual);
    }
}
