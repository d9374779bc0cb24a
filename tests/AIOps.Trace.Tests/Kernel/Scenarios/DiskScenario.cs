using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Tests.Kernel.Scenarios;

/// <summary>
/// A real situation on this machine whose disk outcome is known: the target container "t", maybe
/// a neighbour "n", fio workloads doing direct I/O on one loop device. Each run sets itself up in
/// fresh cgroups on the test's loop device.
/// </summary>
public sealed record DiskScenario(string Name, string Expected, Action<DiskScenarioSetup> Arrange)
{
    /// <summary>The scenarios, one or more per disk outcome this kernel can produce.</summary>
    public static readonly IReadOnlyList<DiskScenario> All =
    [
        new("write-bps-limit-4MiB", Outcomes.ThrottleLimited, s =>
        {
            s.Target.Write("blkio", "blkio.throttle.write_bps_device", $"{s.Device.Number} {4 << 20}");
            s.Run(s.Target, s.Fio("randwrite", "64k", iodepth: 4));
        }),
        new("read-iops-limit-200", Outcomes.ThrottleLimited, s =>
        {
            s.Target.Write("blkio", "blkio.throttle.read_iops_device", $"{s.Device.Number} 200");
            s.Run(s.Target, s.Fio("randread", "4k", iodepth: 8));
        }),
        new("alone-saturating-the-device", Outcomes.DeviceSaturated, s =>
        {
            s.Run(s.Target, s.Fio("randrw", "1M", iodepth: 16, jobs: 2));
        }),
        new("two-tenants-on-one-device", Outcomes.Contention, s =>
        {
            s.Run(s.Target, s.Fio("randrw", "64k", iodepth: 1));
            s.Run(s.Neighbour, s.Fio("randrw", "1M", iodepth: 16, jobs: 2));
        }),
        new("light-io", Outcomes.NotLimited, s =>
        {
            s.Run(s.Target, s.Fio("randrw", "4k", iodepth: 1, extra: "--rate_iops=20"));
        }),
        new("idle-next-to-a-busy-disk", Outcomes.NotLimited, s =>
        {
            s.Run(s.Target, "sh -c 'while :; do sleep 0.2; done'");
            s.Run(s.Neighbour, s.Fio("randrw", "1M", iodepth: 16, jobs: 2));
        }),
    ];
}

/// <summary>What a disk scenario's Arrange step gets: its cgroups, the loop device, and a way to start workloads that are cleaned up.</summary>
public sealed class DiskScenarioSetup(TestCgroup target, TestCgroup neighbour, LoopDevice device, List<System.Diagnostics.Process> processes)
{
    public TestCgroup Target { get; } = target;
    public TestCgroup Neighbour { get; } = neighbour;
    public LoopDevice Device { get; } = device;

    public void Run(TestCgroup cgroup, string command) => processes.Add(cgroup.Start(command));

    /// <summary>
    /// An fio command doing direct, asynchronous I/O on the loop device (v1 blkio throttles direct
    /// I/O; buffered writes are written back by the flusher, outside the cgroup).
    /// </summary>
    public string Fio(string pattern, string blockSize, int iodepth, int jobs = 1, string extra = "") =>
        $"fio --name=aiops-disk --filename={Device.Path} --direct=1 --ioengine=libaio --rw={pattern} --bs={blockSize} " +
        $"--iodepth={iodepth} --numjobs={jobs} --time_based --runtime=300 --eta=never --output=/dev/null {extra}";
}
