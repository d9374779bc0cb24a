using AIOps.Trace.Evaluation;

namespace AIOps.Trace.Tests.Kernel.Detection;

/// <summary>One episode of one domain: what is injected, how hard, and into which replicas (none for a shift or a quiet episode).</summary>
public sealed record EpisodePlan(string Scenario, string Severity, IReadOnlyList<int> Faulted)
{
    public bool IsFault => FaultKinds.Faults.Contains(Scenario);

    /// <summary>The level in the given fault window (0-based): a ramp rises from a quarter to the full level.</summary>
    public double Level(int faultWindow, int faultWindows) => Severity switch
    {
        Severities.Mild => DetectionFault.Mild,
        Severities.Ramp => (faultWindow + 1.0) / faultWindows,
        _ => 1.0,
    };
}

public static class Severities
{
    public const string Mild = "mild";
    public const string Severe = "severe";
    public const string Ramp = "ramp";
    public const string None = "-";
}

/// <summary>
/// The benchmark's episodes. Every run gives each domain every fault kind at three severities
/// (mild, severe, a ramp from mild to severe), two load shifts and a quiet episode, in an order
/// and on replicas drawn from the run's seed; every other fault episode hits two replicas at once.
/// A run is recorded in <see cref="BlocksPerRun"/> blocks (test cases) of
/// <see cref="EpisodesPerBlock"/> episodes per domain, the two domains side by side.
/// </summary>
public static class DetectionSchedule
{
    public const int EpisodesPerBlock = 6;
    public const int BlocksPerRun = 4;

    /// <summary>Windows per episode: before the fault, with it (the first is its onset), after it was taken back.</summary>
    public const int BeforeWindows = 1, FaultWindows = 4, RecoveryWindows = 2;

    public static int WindowsPerEpisode => BeforeWindows + FaultWindows + RecoveryWindows;

    /// <summary>A run's episodes for one domain, in recording order.</summary>
    public static IReadOnlyList<EpisodePlan> For(int run, int domainIndex, int replicas)
    {
        var random = new Random(1000 * run + domainIndex);
        var scenarios = new List<(string Scenario, string Severity)>();
        foreach (string kind in FaultKinds.Faults)
            foreach (string severity in new[] { Severities.Mild, Severities.Severe, Severities.Ramp })
                scenarios.Add((kind, severity));
        scenarios.Add((FaultKinds.LoadShift, Severities.Severe));
        scenarios.Add((FaultKinds.LoadShift, Severities.Ramp));
        scenarios.Add((FaultKinds.None, Severities.None));
        random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(scenarios));

        var plans = new List<EpisodePlan>(scenarios.Count);
        int faults = 0;
        IReadOnlyList<int> last = [];
        foreach ((string scenario, string severity) in scenarios)
        {
            if (!FaultKinds.Faults.Contains(scenario))
            {
                plans.Add(new EpisodePlan(scenario, severity, []));
                continue;
            }
            // Not the replicas of the episode before: what a fault leaves behind (a cache to refill) is not the next one's.
            int[] free = Enumerable.Range(0, replicas).Except(last).ToArray();
            random.Shuffle(free);
            last = free[..(faults++ % 2 == 1 ? 2 : 1)].Order().ToArray();
            plans.Add(new EpisodePlan(scenario, severity, last));
        }
        return plans;
    }

    /// <summary>The episodes of one block.</summary>
    public static IReadOnlyList<EpisodePlan> Block(int run, int block, int domainIndex, int replicas) =>
        For(run, domainIndex, replicas).Skip(block * EpisodesPerBlock).Take(EpisodesPerBlock).ToList();
}
