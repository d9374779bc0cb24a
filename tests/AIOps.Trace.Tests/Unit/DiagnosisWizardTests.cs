using System.Text.RegularExpressions;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Diagnosis;
using AIOps.Trace.Server.Api;

namespace AIOps.Trace.Tests.Unit;

/// <summary>
/// The answer-first view's logic: every outcome says what to do, every question of every tree
/// says where its figure comes from and where both answers lead, the host's answer ranks the
/// containers worst first, and verdicts of every detector share one severity scale.
/// </summary>
public sealed partial class DiagnosisWizardTests
{
    // A busy container on a 2-CPU host over a 5 s window, with nothing holding it back.
    private static readonly CpuEvidence Calm = new()
    {
        CgroupPath = "/kubepods/web", WindowSeconds = 5, HostCpus = 2, HostIdleCpus = 1.2,
        Involuntary = 3, CpuUsageCores = 0.5, OtherTenantsCores = 0.3, RunQueueP99Us = 40, RunQueueWaitNs = 5_000_000,
    };

    private static readonly CpuEvidence Preempted = Calm with { Involuntary = 900, RunQueueWaitNs = 1_250_000_000 };

    /// <summary>One window's figures per CPU outcome, each walked through the real tree.</summary>
    public static TheoryData<string, CpuEvidence> CpuOutcomes() => new()
    {
        { Outcomes.CapThrottled, Calm with { ThrottledNs = 2_400_000_000, ThrottledPeriods = 48, Periods = 50, QuotaUs = 20_000, PeriodUs = 100_000 } },
        { Outcomes.NotThrottled, Calm },
        { Outcomes.CpusetThrottled, Preempted with { CpusetCpus = [1], CpuBusy = new Dictionary<int, double> { [0] = 0.05, [1] = 0.99 }, HostIdleCpus = 0.95 } },
        { Outcomes.NotThrottledDigFurther, Preempted with { PreemptedByHost = 800 } },
        { Outcomes.PhysicalCpuThrottled, Preempted with { HostIdleCpus = 0.01, OtherTenantsCores = 0.02, CpuUsageCores = 1.9 } },
        { Outcomes.ShareThrottled, Preempted with { HostIdleCpus = 0.01, OtherTenantsCores = 1.4, TopPreemptors = [new NoisyNeighbour("/kubepods/batch", 700, 1.3)] } },
    };

    private static readonly Dictionary<string, string> Ending = new()
    {
        [Outcomes.CapThrottled] = "cap-throttled", [Outcomes.NotThrottled] = "not throttled", [Outcomes.CpusetThrottled] = "cpuset-throttled",
        [Outcomes.NotThrottledDigFurther] = "dig further", [Outcomes.PhysicalCpuThrottled] = "physical CPU throttled",
        [Outcomes.ShareThrottled] = "share-throttled",
    };

    [Theory]
    [MemberData(nameof(CpuOutcomes))]
    public void Each_cpu_outcome_walks_to_an_action_with_every_question_explained(string outcome, CpuEvidence evidence)
    {
        ResourceDiagnosis d = CpuDiagnosis.Diagnose(evidence);
        Assert.Equal(outcome, d.Outcome);

        WizardDocument w = Wizard.Build("node-1", 7, Detail(d));
        WizardResource cpu = Assert.Single(w.Resources);
        Assert.Equal((outcome, d.Path.Count), (cpu.Outcome, cpu.Steps.Count));
        OutcomeGuide guide = DiagnosisGuide.For("cpu", outcome);
        Assert.Equal((guide.NextStep, guide.CheckNext, guide.Severity), (cpu.NextStep, cpu.CheckNext, cpu.Severity));
        for (int i = 0; i < d.Path.Count; i++)
        {
            DiagnosisStep s = d.Path[i];
            WizardStep step = cpu.Steps[i];
            StepGuide g = DiagnosisGuide.Step("cpu", s.Metric) ?? throw new Xunit.Sdk.XunitException($"no guide for cpu question {s.Metric}");
            Assert.Equal((i + 1, s.Step, s.Result, g.Source), (step.Number, step.Question, step.Answer, step.Source));
            // The branch taken is the answer's, the other one is shown as not taken.
            Assert.Equal(s.Result ? (g.IfYes, g.IfNo) : (g.IfNo, g.IfYes), (step.Taken, step.NotTaken));
        }
        // The last question's taken branch names where the tree ended.
        Assert.Contains(Ending[outcome], cpu.Steps[^1].Taken, StringComparison.Ordinal);
    }

    [Fact]
    public void Outcomes_rank_a_limit_above_a_neighbour_above_look_further_above_healthy()
    {
        int Sev(string o) => DiagnosisGuide.For("cpu", o).Severity;
        Assert.True(Sev(Outcomes.CapThrottled) > Sev(Outcomes.ShareThrottled));
        Assert.Equal(Sev(Outcomes.ShareThrottled), Sev(Outcomes.CpusetThrottled));
        Assert.Equal(Sev(Outcomes.ShareThrottled), Sev(Outcomes.PhysicalCpuThrottled));
        Assert.True(Sev(Outcomes.PhysicalCpuThrottled) > Sev(Outcomes.NotThrottledDigFurther));
        Assert.True(Sev(Outcomes.NotThrottledDigFurther) > Sev(Outcomes.NotThrottled));
        Assert.Equal(0, Sev(Outcomes.NotThrottled));
        // An outcome the guide does not know is neutral, never an exception.
        Assert.Equal(1, DiagnosisGuide.For("gpu", "melted").Severity);
    }

    /// <summary>
    /// Every question any tree can ask (each Ask/AskBelow call in src/AIOps.Trace/Diagnosis) has a
    /// guide, and every outcome a tree can decide has one: a new question without an explanation
    /// fails here, not on a user's screen.
    /// </summary>
    [Fact]
    public void Every_question_and_outcome_of_every_tree_has_a_guide()
    {
        string dir = Path.Combine(AIOps.Trace.Tests.Kernel.StructLayoutTests.RepoRoot(), "src", "AIOps.Trace", "Diagnosis");
        var asked = new List<(string Resource, string Metric)>();
        var decided = new List<(string Resource, string Outcome)>();
        foreach (string file in Directory.GetFiles(dir, "*Diagnosis.cs"))
        {
            string text = File.ReadAllText(file);
            Match resource = ResourceConst().Match(text);
            if (!resource.Success)
                continue;
            foreach (Match m in AskCall().Matches(text))
                asked.Add((resource.Groups[1].Value, m.Groups[1].Value));
            foreach (Match m in DecideCall().Matches(text))
                decided.Add((resource.Groups[1].Value, OutcomeValue(m.Groups[1].Value)));
        }
        Assert.True(asked.Count >= 20, $"found only {asked.Count} questions: the source scan is broken");
        Assert.Equal(["cpu", "disk", "memory", "network"], asked.Select(a => a.Resource).Distinct().Order());
        var known = DiagnosisGuide.KnownSteps.ToHashSet();
        Assert.DoesNotContain(asked, a => !known.Contains(a));
        var outcomes = DiagnosisGuide.KnownOutcomes.ToHashSet();
        Assert.NotEmpty(decided);
        Assert.DoesNotContain(decided, d => !outcomes.Contains(d));
    }

    private static string OutcomeValue(string name) =>
        (string)typeof(Outcomes).GetField(name)!.GetValue(null)!;

    [GeneratedRegex(@"const string Resource = ""(\w+)""")]
    private static partial Regex ResourceConst();

    [GeneratedRegex(@"\.Ask(?:Below)?\(""[^""]+"", ""(\w+)""")]
    private static partial Regex AskCall();

    [GeneratedRegex(@"\.Decide\(Resource, Outcomes\.(\w+)")]
    private static partial Regex DecideCall();

    [Fact]
    public void The_host_answer_lists_the_held_back_worst_first_with_key_figure_and_next_step()
    {
        var containers = new List<ContainerVerdicts>
        {
            Container("1", "quiet", CpuDiagnosis.Diagnose(Calm)),
            Container("2", "batch", CpuDiagnosis.Diagnose(Preempted with { HostIdleCpus = 0.01, OtherTenantsCores = 1.4 })),
            Container("3", "web", CpuDiagnosis.Diagnose(Calm with { ThrottledNs = 2_400_000_000, ThrottledPeriods = 48, Periods = 50, QuotaUs = 20_000, PeriodUs = 100_000 })),
            Container("4", "api", CpuDiagnosis.Diagnose(Preempted with { HostIdleCpus = 0.01, OtherTenantsCores = 1.4, RunQueueWaitNs = 2_500_000_000 })),
            Container("5", "lonely", new ResourceDiagnosis("cpu", Outcomes.Undecidable, [], "cannot decide", "no cpu.stat")),
        };

        HostAnswer a = HostAnswer.Build(containers);

        Assert.Equal((5, 3, 1), (a.Containers, a.Affected, a.Undecided));
        // The quota first (a limit of its own), then the two share-throttled by their waiting time.
        Assert.Equal(["web", "api", "batch"], a.Worst.Select(w => w.Name));
        AffectedContainer web = a.Worst[0];
        Assert.Equal((Outcomes.CapThrottled, "480 ms/s throttled"), (web.Outcome, web.KeyFigure));
        Assert.Equal(DiagnosisGuide.For("cpu", Outcomes.CapThrottled).NextStep, web.NextStep);
        Assert.Equal("web is cap-throttled: 480 ms/s throttled", web.Sentence);
        Assert.Equal("500 ms/s waiting to run", a.Worst[1].KeyFigure);
        Assert.Equal([(Outcomes.CapThrottled, 1), (Outcomes.ShareThrottled, 2)],
            a.ByOutcome.Select(o => (o.Outcome, o.Containers)).OrderBy(o => o.Outcome));
        Assert.StartsWith("3 of 5 containers are held back; worst: web is cap-throttled (480 ms/s throttled)", a.Headline);
    }

    [Fact]
    public void A_container_is_ranked_by_its_worst_resource_and_a_healthy_host_says_so()
    {
        ResourceDiagnosis oom = new("memory", Outcomes.OomAtLimit, [new DiagnosisStep("OOM kills", "oom_kills", 2, 1, true)], "OOM at limit: 2 task(s) killed");
        var one = new ContainerVerdicts("9", "db", new Dictionary<string, ResourceDiagnosis> { ["cpu"] = CpuDiagnosis.Diagnose(Calm), ["memory"] = oom });
        HostAnswer a = HostAnswer.Build([one, Container("1", "quiet", CpuDiagnosis.Diagnose(Calm))]);
        AffectedContainer db = Assert.Single(a.Worst);
        Assert.Equal(("memory", Outcomes.OomAtLimit, "oom kills 2"), (db.Resource, db.Outcome, db.KeyFigure));
        Assert.Equal("1 of 2 containers is held back by memory: db is OOM-killed at its limit (oom kills 2).", a.Headline);

        HostAnswer calm = HostAnswer.Build([Container("1", "quiet", CpuDiagnosis.Diagnose(Calm))]);
        Assert.Empty(calm.Worst);
        Assert.StartsWith("All 1 container look healthy", calm.Headline);
    }

    [Fact]
    public void Every_abnormal_verdict_outranks_every_normal_one_whatever_the_detector()
    {
        var rng = new Random(20261202);
        string[] detectors = [DetectorNames.PeerOutlier, DetectorNames.OneClassSvm, DetectorNames.WeightedCsvc, DetectorNames.MulticlassCsvc];
        var abnormal = new List<double>();
        var normal = new List<double>();
        for (int i = 0; i < 4000; i++)
        {
            string detector = detectors[rng.Next(detectors.Length)];
            double score = (rng.NextDouble() - 0.5) * 20;
            bool isAbnormal = rng.Next(2) == 0;
            double? s = VerdictSeverity.Of(isAbnormal ? VerdictStatus.Abnormal : VerdictStatus.Normal, detector, score);
            Assert.NotNull(s);
            Assert.InRange(s.Value, 0, 1);
            (isAbnormal ? abnormal : normal).Add(s.Value);
        }
        Assert.True(abnormal.Min() > normal.Max(), $"lowest abnormal {abnormal.Min()} vs highest normal {normal.Max()}");
        // Within one status the scale keeps the detector's order: further past the boundary is more severe.
        Assert.True(VerdictSeverity.Of(VerdictStatus.Abnormal, DetectorNames.PeerOutlier, 3)!.Value
                    > VerdictSeverity.Of(VerdictStatus.Abnormal, DetectorNames.PeerOutlier, 1.5)!.Value);
        Assert.True(VerdictSeverity.Of(VerdictStatus.Normal, DetectorNames.OneClassSvm, -0.2)!.Value
                    > VerdictSeverity.Of(VerdictStatus.Normal, DetectorNames.OneClassSvm, -2)!.Value);
        // A peer outlier at its cutoff and an SVM on its boundary sit at the same place on the scale.
        Assert.Equal(VerdictSeverity.Of(VerdictStatus.Abnormal, DetectorNames.PeerOutlier, 1.0), VerdictSeverity.Of(VerdictStatus.Abnormal, DetectorNames.WeightedCsvc, 0.0));
        // Not judged: no severity.
        Assert.Null(VerdictSeverity.Of(VerdictStatus.TooFewPeers, DetectorNames.None, double.NaN));
        Assert.Null(VerdictSeverity.Of(VerdictStatus.Normal, DetectorNames.PeerOutlier, double.NaN));
    }

    private static ContainerVerdicts Container(string id, string name, ResourceDiagnosis cpu) =>
        new(id, name, new Dictionary<string, ResourceDiagnosis> { ["cpu"] = cpu });

    private static ContainerDetailDocument Detail(ResourceDiagnosis cpu)
    {
        var view = new ContainerView("42", "/kubepods/web", "web", "cgroup", null, null, null, null, null, null, null, false,
            DateTimeOffset.UnixEpoch, null, new CumulativeFigures(0, 0, 0, 0, new PreemptionCounts(0, 0, 0, 0), 0, 0, 0, 0), cpu.Outcome, null);
        return new ContainerDetailDocument("node-1", 7, [], view, [], new Dictionary<string, ResourceDiagnosis> { ["cpu"] = cpu }, null, []);
    }
}
