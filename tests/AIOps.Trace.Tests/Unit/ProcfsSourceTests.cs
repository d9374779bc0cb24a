using AIOps.Trace.Aggregation;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Sources;

namespace AIOps.Trace.Tests.Unit;

/// <summary>The procfs sampler's bookkeeping over a fake /proc and cgroup tree under a host root.</summary>
public sealed class ProcfsSourceTests : IDisposable
{
    // The engine starts at uptime 1000.00 s = 100000 ticks.
    private const long EngineStart = 100_000;
    private readonly string _root = Directory.CreateTempSubdirectory("aiops-procfs-").FullName;
    private readonly CgroupIndex _index;
    private readonly ContainerTable _table = new();

    public ProcfsSourceTests()
    {
        Directory.CreateDirectory($"{_root}/cg/a");
        Directory.CreateDirectory($"{_root}/cg/b");
        Write("proc/uptime", "1000.00 1800.00\n");
        _index = new CgroupIndex($"{_root}/cg");
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Write(string relative, string text)
    {
        string path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    private void Task(int pid, int tid, string cgroup, long delayNs, long slices, long nonvoluntary, long startTicks)
    {
        Write($"proc/{pid}/cgroup", $"2:cpuacct:/\n1:cpu:{cgroup}\n0::/\n");
        Write($"proc/{pid}/task/{tid}/schedstat", $"123 {delayNs} {slices}\n");
        Write($"proc/{pid}/task/{tid}/status", $"Name:\tx\nvoluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t{nonvoluntary}\n");
        Write($"proc/{pid}/task/{tid}/stat", $"{tid} (x y) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {startTicks} 0 0\n");
    }

    private ProcfsSource Start() =>
        new(new EngineOptions { HostRoot = _root }, _table, _index, "test");

    private ContainerAccumulator Of(string cgroup)
    {
        Assert.True(_table.TryGet(_index.IdOf(cgroup)!.Value, out ContainerAccumulator acc), $"{cgroup} has no accumulator");
        return acc;
    }

    [Fact]
    public void Deltas_since_the_baseline_land_in_the_tasks_cgroup()
    {
        Task(100, 100, "/a", delayNs: 1000, slices: 10, nonvoluntary: 5, startTicks: 50);
        Task(100, 101, "/a", delayNs: 0, slices: 0, nonvoluntary: 0, startTicks: 50);
        using ProcfsSource source = Start();
        Assert.Equal(0, _table.Count);
        Assert.Equal(("none", "procfs", "cgroupfs"), (source.Kernel.Ring, source.Kernel.Attach, source.Kernel.ThrottleSource));
        Assert.Equal(0, source.AttachedPrograms);

        Task(100, 100, "/a", delayNs: 5000, slices: 20, nonvoluntary: 8, startTicks: 50);
        Directory.Delete($"{_root}/proc/100/task/101", recursive: true);
        source.CatchUp();

        ContainerAccumulator a = Of("/a");
        Assert.Equal(10, a.RunQueue.Count);
        Assert.Equal(4000UL, a.RunQueue.Sum);
        // The mean wait of the interval, recorded once per timeslice.
        Assert.Equal(400UL, a.RunQueue.Max);
        Assert.Equal(3, a.PreemptedByUnknown);
        Assert.Equal(3, a.Involuntary);
    }

    [Fact]
    public void A_task_born_after_the_engine_counts_from_zero_an_older_one_from_its_first_sighting()
    {
        using ProcfsSource source = Start();
        Task(200, 200, "/b", delayNs: 9000, slices: 3, nonvoluntary: 2, startTicks: EngineStart + 50);
        Task(300, 300, "/b", delayNs: 7000, slices: 7, nonvoluntary: 4, startTicks: EngineStart - 50);
        source.CatchUp();

        ContainerAccumulator b = Of("/b");
        Assert.Equal(3, b.RunQueue.Count);
        Assert.Equal(9000UL, b.RunQueue.Sum);
        Assert.Equal(2, b.PreemptedByUnknown);
    }

    [Fact]
    public void Tasks_and_cgroups_that_vanish_mid_read_are_skipped_without_throwing()
    {
        Task(100, 100, "/a", delayNs: 0, slices: 0, nonvoluntary: 0, startTicks: 50);
        using ProcfsSource source = Start();
        Task(400, 400, "/gone", delayNs: 500, slices: 5, nonvoluntary: 1, startTicks: EngineStart + 1);
        Task(500, 500, "/a", delayNs: 500, slices: 5, nonvoluntary: 1, startTicks: EngineStart + 1);
        File.Delete($"{_root}/proc/500/task/500/status");
        Directory.CreateDirectory($"{_root}/proc/600");   // a process with no files left
        Write("proc/self", "not a pid");

        source.CatchUp();

        Assert.False(_table.TryGet(_index.IdOf("/a")!.Value, out _));
        Assert.Null(_index.IdOf("/gone"));
        Assert.Equal(0, _table.Count);
    }

    [Fact]
    public void A_reused_tid_whose_counters_went_backwards_starts_again()
    {
        Task(100, 100, "/a", delayNs: 90_000, slices: 90, nonvoluntary: 40, startTicks: 50);
        using ProcfsSource source = Start();
        Task(100, 100, "/a", delayNs: 1000, slices: 2, nonvoluntary: 1, startTicks: EngineStart + 10);
        source.CatchUp();

        ContainerAccumulator a = Of("/a");
        Assert.Equal(2, a.RunQueue.Count);
        Assert.Equal(1000UL, a.RunQueue.Sum);
        Assert.Equal(1, a.PreemptedByUnknown);
    }
}
