using System.Globalization;
using System.Text.Json;

namespace AIOps.Trace.KernelMatrix;

/// <summary>One check: the engine's figure beside the kernel's own, and whether it is within tolerance.</summary>
internal sealed record Check(string Kernel, string Layout, string Mechanism, string Name, string Engine, string KernelFigure, string Tolerance, bool Pass);

/// <summary>What doctor said on one guest, and how long the boot took.</summary>
internal sealed record GuestSummary(string Kernel, string Layout, string Seconds, IReadOnlyDictionary<string, string> Features, string DoctorTier);

/// <summary>Everything judged: per-check rows, per guest summaries, worst deviations per measure.</summary>
internal sealed class Verdicts
{
    public List<Check> Checks { get; } = [];
    public List<GuestSummary> Guests { get; } = [];
    public Dictionary<(string Kernel, string Layout, string Mechanism, string Measure), double> Worst { get; } = [];

    public int Passed => Checks.Count(c => c.Pass);
    public int Failed => Checks.Count(c => !c.Pass);
}

/// <summary>
/// Judges each guest's raw figures with the tolerances of the kernel tests (ThrottlingTests,
/// PreemptionTests, RunQueueLatencyTests), and the memory verdict against memory.events.
/// </summary>
internal static class Judge
{
    /// <summary>The doctor feature names shown per kernel, in order.</summary>
    public static readonly string[] FeatureNames = ["btf", "ringbuf", "perf_event_array", "tp_btf", "raw_tp", "tracepoint", "fentry", "kprobes"];

    public static Verdicts Run(IEnumerable<GuestLog> guests, IReadOnlyList<string> tiersAsked)
    {
        var v = new Verdicts();
        foreach (GuestLog g in guests)
            JudgeGuest(v, g, tiersAsked);
        return v;
    }

    private static void JudgeGuest(Verdicts v, GuestLog g, IReadOnlyList<string> tiersAsked)
    {
        void Check(string mechanism, string name, string engine, string kernel, string tolerance, bool pass) =>
            v.Checks.Add(new Check(g.Release, g.Layout, mechanism, name, engine, kernel, tolerance, pass));
        void Deviation(string mechanism, string measure, double engine, double kernel)
        {
            double d = kernel == 0 ? (engine == 0 ? 0 : 1) : Math.Abs(engine - kernel) / kernel;
            var key = (g.Release, g.Layout, mechanism, measure);
            v.Worst[key] = Math.Max(d, v.Worst.GetValueOrDefault(key));
        }

        string seconds = g.Boot.GetValueOrDefault("seconds", "?");
        bool exit0 = g.Boot.GetValueOrDefault("qemu_exit") == "0";
        Check("-", "boot", $"{seconds} s, qemu exit {g.Boot.GetValueOrDefault("qemu_exit", "?")}{(g.Boot.GetValueOrDefault("timed_out") == "yes" ? ", timed out" : "")}",
            g.Finished ? "guest finished" : "guest did not finish", "powers off in time", g.Finished && exit0);

        JsonElement? doctor = g.Json("doctor");
        var features = new Dictionary<string, string>();
        string doctorTier = "doctor printed no JSON: " + (g.Line("doctor") ?? "nothing");
        if (doctor is JsonElement d)
        {
            foreach (string f in FeatureNames)
                features[f] = d.GetProperty("features").TryGetProperty(f, out JsonElement x) ? (x.GetProperty("available").GetBoolean() ? "yes" : "no") : "?";
            JsonElement t = d.GetProperty("tier");
            doctorTier = t.GetProperty("mode").GetString() == "procfs"
                ? $"procfs ({t.GetProperty("why").GetString()})"
                : $"ebpf: {t.GetProperty("transport").GetString()} + {t.GetProperty("attach").GetString()}, throttling {ThrottleSource(t)}";
        }
        v.Guests.Add(new GuestSummary(g.Release, g.Layout, seconds, features, doctorTier));
        Check("-", "doctor --json", doctor is null ? "no JSON" : "printed", "-", "a JSON document", doctor is not null);

        // The layout the guest was asked for is the one it has: pure v2 leaves no v1 hierarchy mountable.
        if (g.Layout == "v2")
        {
            string layout = doctor is JsonElement dl ? dl.GetProperty("cgroups").GetProperty("layout").GetString() ?? "?" : "?";
            string v1 = g.Line("cgroup_v2 v1_cpu_mountable") ?? "?";
            string subtree = g.Line("cgroup_v2 controllers") ?? "not reported";
            Check("-", "pure cgroup v2", $"doctor: layout {layout}", $"v1 cpu mountable: {v1}; {subtree}", "v2, v1 not mountable, cpu memory io enabled",
                layout == "v2" && v1 == "no" && subtree.Contains("subtree_control", StringComparison.Ordinal)
                && new[] { "cpu", "memory", "io" }.All(c => subtree[subtree.IndexOf("subtree_control", StringComparison.Ordinal)..].Split(' ').Contains(c)));
        }

        IReadOnlyList<string> ran = g.Tiers;
        Check("-", "tiers run", $"{ran.Count}", $"{tiersAsked.Count} asked ({string.Join(",", tiersAsked)})", "all", ran.Count == tiersAsked.Count);

        foreach (string tier in ran)
        {
            Throttling(g, tier, Check, Deviation);
            Contention(g, tier, Check, Deviation);
            if (g.Line($"memory/{tier} events_before") is not null || g.Line($"memory/{tier} error") is not null)
                Memory(g, tier, Check);
        }
    }

    private delegate void CheckFn(string mechanism, string name, string engine, string kernel, string tolerance, bool pass);
    private delegate void DeviationFn(string mechanism, string measure, double engine, double kernel);

    // A 20% quota on a busy loop for 3 s, against cpu.stat read before and after.
    private static void Throttling(GuestLog g, string tier, CheckFn check, DeviationFn deviation)
    {
        JsonElement? snapshot = g.Json($"throttle/{tier} json");
        string mechanism = snapshot is JsonElement s0 ? Mechanism(s0) : tier;
        Dictionary<string, long>? before = GuestLog.CpuStat(g.Line($"throttle/{tier} cpu_stat_before"));
        Dictionary<string, long>? after = GuestLog.CpuStat(g.Line($"throttle/{tier} cpu_stat_after"));
        if (snapshot is not JsonElement s || Container(s, "/aiops-mx-throttle") is not JsonElement c || before is null || after is null)
        {
            check(mechanism, "throttling", "no figures", g.Line($"throttle/{tier} error") ?? g.Line($"throttle/{tier} stderr") ?? "no cpu.stat", "-", false);
            return;
        }
        JsonElement th = c.GetProperty("throttling");
        long kernelNs = after["throttled_time"] - before["throttled_time"], kernelThrottled = after["nr_throttled"] - before["nr_throttled"];
        long kernelPeriods = after["nr_periods"] - before["nr_periods"];
        long ns = th.GetProperty("throttled_ns").GetInt64(), throttled = th.GetProperty("throttled_periods").GetInt64(), periods = th.GetProperty("periods").GetInt64();
        check(mechanism, "throttled time", $"{ns / 1e6:0.0} ms", $"{kernelNs / 1e6:0.0} ms ({kernelThrottled} throttled periods)", "5%, 20+ throttled periods",
            kernelThrottled >= 20 && Within(ns, kernelNs, 0.05));
        deviation(mechanism, "throttled time", ns, kernelNs);
        check(mechanism, "throttled periods", $"{throttled}", $"{kernelThrottled}", "1", Math.Abs(throttled - kernelThrottled) <= 1);
        check(mechanism, "periods", $"{periods}", $"{kernelPeriods}", "1", Math.Abs(periods - kernelPeriods) <= 1);
        // ThrottlingTests wants 400-800 ms for 3 s at 20%; under emulation `sleep 3` stretches,
        // so the same bounds (2/3 to 4/3 of 20%) apply to the loop's measured lifetime.
        long usage = c.GetProperty("cpu_usage_ns").GetInt64();
        if (double.TryParse(g.Line($"throttle/{tier} loop_seconds"), NumberStyles.Float, CultureInfo.InvariantCulture, out double loopSeconds))
        {
            double quotaNs = 0.2 * loopSeconds * 1e9;
            check(mechanism, "CPU usage at a 20% quota", $"{usage / 1e6:0} ms", $"20% of {loopSeconds:0.00} s = {quotaNs / 1e6:0} ms", "2/3 to 4/3",
                usage >= quotaNs * 2 / 3 && usage <= quotaNs * 4 / 3);
        }
        else
        {
            check(mechanism, "CPU usage at a 20% quota", $"{usage / 1e6:0} ms", "the guest did not report the loop's lifetime", "2/3 to 4/3", false);
        }
        long waits = c.GetProperty("runq_latency_us").GetProperty("count").GetInt64();
        check(mechanism, "run-queue waits at unthrottle", $"{waits}", $"{kernelThrottled} throttles", "at least half", waits >= kernelThrottled / 2);
        long lost = s.GetProperty("lost_events").GetInt64();
        check(mechanism, "lost events (throttling)", $"{lost}", "-", "0", lost == 0);
        // The throttle hook: the one asked for (the tier's third part; auto takes the engine's
        // choice), the one the snapshot names, and the one the kernel shows attached (the
        // process's BPF programs and links), agreeing, with eBPF throttle events seen.
        string[] parts = tier.Split(':');
        string asked = parts.Length > 2 ? parts[2] : "auto";
        string engineHook = s.GetProperty("kernel").TryGetProperty("throttle_hook", out JsonElement h) ? h.GetString() ?? "?" : "?";
        (string kernelHook, string kernelWhy) = AttachedHook(g.Line($"throttle/{tier} bpf"));
        long events = th.GetProperty("events").GetInt64();
        check(mechanism, "throttle hook", $"{engineHook}, {events} throttle events", $"{kernelHook} attached ({kernelWhy})",
            asked == "auto" ? "as attached" : $"{asked} (forced), as attached",
            engineHook == kernelHook && (asked == "auto" || asked == engineHook) && (engineHook == "none" ? events == 0 : events > 0));
    }

    // Two busy loops in two cgroups on CPU 1, against /proc/<pid>/status and schedstat.
    private static void Contention(GuestLog g, string tier, CheckFn check, DeviationFn deviation)
    {
        JsonElement? snapshot = g.Json($"contend/{tier} json");
        string mechanism = snapshot is JsonElement s0 ? Mechanism(s0) : tier;
        foreach ((string me, string other) in new[] { ("a", "b"), ("b", "a") })
        {
            string? truth = g.Line($"contend/{tier} truth_{me}");
            if (truth is null || snapshot is not JsonElement s || Container(s, "/aiops-mx-" + me) is not JsonElement x)
            {
                check(mechanism, $"contention ({me})", "no figures", g.Line($"contend/{tier} error") ?? g.Line($"contend/{tier} stderr") ?? "no counters", "-", false);
                continue;
            }
            var fields = truth.Split(' ').Select(f => f.Split('=', 2)).Where(f => f.Length == 2).ToDictionary(f => f[0], f => f[1]);
            long nv = long.Parse(fields["nonvoluntary_ctxt_switches"], CultureInfo.InvariantCulture);
            long[] sched = fields["schedstat"].Split(',').Select(n => long.Parse(n, CultureInfo.InvariantCulture)).ToArray();
            JsonElement rq = x.GetProperty("runq_latency_us");
            long count = rq.GetProperty("count").GetInt64();
            double sumNs = rq.GetProperty("sum").GetDouble() * 1000;
            JsonElement pre = x.GetProperty("preemptions");
            long inv = pre.GetProperty("involuntary").GetInt64(), byOther = pre.GetProperty("by_other_cgroup").GetInt64();
            string top = pre.GetProperty("top_preemptors").EnumerateArray().Select(p => Cgroup(p)).FirstOrDefault() ?? "none";
            deviation(mechanism, "preemptions", inv, nv);
            deviation(mechanism, "run-queue waits", count, sched[2]);
            deviation(mechanism, "run-queue time", sumNs, sched[1]);
            check(mechanism, $"preemptions ({me})", $"{inv}", $"{nv} nonvoluntary switches", "5%, 100+", nv > 100 && Within(inv, nv, 0.05));
            check(mechanism, $"preempted by the other ({me})", $"{byOther}, top {top}", $"/aiops-mx-{other}", "over half, top is the other",
                byOther > inv / 2 && top == "/aiops-mx-" + other);
            check(mechanism, $"run-queue waits ({me})", $"{count}", $"{sched[2]} timeslices", "10%, 100+", sched[2] > 100 && Within(count, sched[2], 0.10));
            check(mechanism, $"run-queue time ({me})", $"{sumNs / 1e6:0.0} ms", $"{sched[1] / 1e6:0.0} ms run_delay", "10%", Within(sumNs, sched[1], 0.10));
        }
        if (snapshot is JsonElement s1)
        {
            long lost = s1.GetProperty("lost_events").GetInt64();
            check(mechanism, "lost events (contention)", $"{lost}", "-", "0", lost == 0);
        }
    }

    // Three OOM kills at a 32 MiB limit inside a diagnose window, against memory.events (v2) or
    // memory.oom_control + memory.failcnt (v1) read before and after.
    private static void Memory(GuestLog g, string tier, CheckFn check)
    {
        const string name = "memory";
        JsonElement? diagnose = g.Json($"memory/{tier} json");
        (long LimitHits, long OomKills)? before = GuestLog.MemoryEvents(g.Line($"memory/{tier} events_before"));
        (long LimitHits, long OomKills)? after = GuestLog.MemoryEvents(g.Line($"memory/{tier} events_after"));
        JsonElement? container = diagnose is JsonElement dj
            ? dj.GetProperty("containers").EnumerateArray().Where(c => Cgroup(c) == "/aiops-mx-mem").Select(c => (JsonElement?)c).FirstOrDefault()
            : null;
        string files = g.Layout == "v2" ? "memory.events" : "memory.oom_control, memory.failcnt";
        if (container is not JsonElement c || before is null || after is null || !c.TryGetProperty("memory", out JsonElement memory))
        {
            check(name, "memory verdict", "no figures", g.Line($"memory/{tier} error") ?? g.Line($"memory/{tier} stderr") ?? $"no {files}", "-", false);
            return;
        }
        long kernelOom = after.Value.OomKills - before.Value.OomKills;
        long kernelHits = after.Value.LimitHits - before.Value.LimitHits;
        string outcome = memory.GetProperty("outcome").GetString() ?? "?";
        double? engineOom = memory.GetProperty("path").EnumerateArray()
            .Where(p => p.GetProperty("metric").GetString() == "oom_kills" && p.GetProperty("value").ValueKind == JsonValueKind.Number)
            .Select(p => (double?)p.GetProperty("value").GetDouble()).FirstOrDefault();
        check(name, "OOM kills", engineOom is double e ? $"{e:0}" : "not asked", $"{kernelOom} oom_kill ({files})", "equal, 1+", kernelOom >= 1 && engineOom == kernelOom);
        check(name, "memory verdict", outcome, $"{kernelOom} OOM kills, limit hit {kernelHits} times", "oom_at_limit", outcome == "oom_at_limit" && kernelOom >= 1);
    }

    public static bool Within(double value, double reference, double tolerance) =>
        value >= reference * (1 - tolerance) && value <= reference * (1 + tolerance);

    private static JsonElement? Container(JsonElement snapshot, string cgroupPath) =>
        snapshot.GetProperty("containers").EnumerateArray().Where(c => Cgroup(c) == cgroupPath)
            .Select(c => (JsonElement?)c).FirstOrDefault();

    private static string Mechanism(JsonElement snapshot)
    {
        JsonElement k = snapshot.GetProperty("kernel");
        return $"{k.GetProperty("ring").GetString()} + {k.GetProperty("attach").GetString()}, throttling {ThrottleSource(k)}";
    }

    // "fentry+cgroupfs" or "kprobe+cgroupfs" when the throttle programs ran with that hook, else
    // throttle_source (from a snapshot's "kernel" or doctor's "tier" object).
    private static string ThrottleSource(JsonElement k) =>
        k.TryGetProperty("throttle_hook", out JsonElement hook) && hook.GetString() is string h && h != "none"
            ? $"{h}+cgroupfs" : k.GetProperty("throttle_source").GetString() ?? "?";

    /// <summary>
    /// The throttle hook the guest kernel shows attached to the snapshot process (init's
    /// bpf_objects: "prog:&lt;prog_type&gt;:&lt;run_cnt&gt;" and "link:&lt;link_type&gt;:&lt;attach_type&gt;"
    /// words): kprobe programs are BPF_PROG_TYPE_KPROBE (2), fentry ones hang off links of type "tracing".
    /// </summary>
    internal static (string Hook, string Why) AttachedHook(string? line)
    {
        if (line is null)
            return ("?", "the guest did not list the BPF objects");
        var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => w.Split(':')).ToList();
        var kprobes = words.Where(w => w[0] == "prog" && w.Length > 2 && w[1] == "2").ToList();
        int tracingLinks = words.Count(w => w[0] == "link" && w.Length > 1 && w[1] == "tracing");
        long runs = kprobes.Sum(w => long.TryParse(w.Length > 2 ? w[2] : "", out long n) ? n : 0);
        string why = $"{kprobes.Count} kprobe programs run {runs} times, {tracingLinks} fentry links";
        return (kprobes.Count, tracingLinks) switch
        {
            ( >= 2, 0) when runs > 0 => ("kprobe", why),
            (0, >= 2) => ("fentry", why),
            (0, 0) => ("none", why),
            _ => ("unclear", why),
        };
    }

    // A container or preemptor of snapshot/diagnose --json: "cgroup" (before the shared contracts, "cgroup_path": older guest logs).
    private static string? Cgroup(JsonElement e) =>
        (e.TryGetProperty("cgroup", out JsonElement cgroup) ? cgroup : e.GetProperty("cgroup_path")).GetString();
}
