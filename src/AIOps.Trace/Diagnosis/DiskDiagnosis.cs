namespace AIOps.Trace.Diagnosis;

/// <summary>What the disk tree looks at for one container and its busiest device over one window. -1 marks a missing signal.</summary>
public sealed record DiskEvidence
{
    public required string Device { get; init; }

    /// <summary>
    /// The container's I/O on the device, bytes/s and operations/s: read and write together, or,
    /// when a limit is set, the direction (<see cref="Direction"/>) nearest its limit.
    /// </summary>
    public double BytesPerSecond { get; init; }
    public double IopsPerSecond { get; init; }

    /// <summary>Operations/s in both directions, when <see cref="IopsPerSecond"/> describes one; -1 not given.</summary>
    public double TotalIopsPerSecond { get; init; } = -1;

    /// <summary>"read", "write", or "read+write" (no limit set): the I/O the rates and limits describe.</summary>
    public string Direction { get; init; } = "read+write";

    /// <summary>Whether the kernel exposes I/O throttle settings for the cgroup (v1 blkio.throttle.*, v2 io.max).</summary>
    public bool ThrottleKnown { get; init; }

    /// <summary>Configured limits for the device (read + write); -1 when none is set.</summary>
    public double LimitBytesPerSecond { get; init; } = -1;
    public double LimitIopsPerSecond { get; init; } = -1;

    /// <summary>Share of the window the device was busy (/proc/diskstats io_ticks); -1 unknown.</summary>
    public double DeviceUtilization { get; init; } = -1;

    /// <summary>The container's share of all I/O on the device (bytes); -1 unknown.</summary>
    public double ContainerShareOfDevice { get; init; } = -1;

    /// <summary>
    /// The busiest device whose I/O the cgroup counters do not see (v1 blkio counts a cgroup's I/O
    /// on a device only once a throttle rule was set on it), and its utilization; null and -1 when
    /// every device with I/O is counted.
    /// </summary>
    public string? UncountedDevice { get; init; }
    public double UncountedDeviceUtilization { get; init; } = -1;

    /// <summary>
    /// Storage I/O the cgroup's tasks caused, bytes/s, from /proc/&lt;pid&gt;/io read_bytes and
    /// write_bytes (any device, counted or not); -1 unknown.
    /// </summary>
    public double TaskIoBytesPerSecond { get; init; } = -1;
}

public sealed record DiskThresholds
{
    /// <summary>Rate / limit at or above which the container runs at its throttle.</summary>
    public double AtLimitRatio { get; init; } = 0.90;

    /// <summary>Device utilization at or above which it is busy.</summary>
    public double BusyUtilization { get; init; } = 0.90;

    /// <summary>The container's share of the device's I/O at or above which it is alone on it.</summary>
    public double AloneShare { get; init; } = 0.80;

    /// <summary>Operations per second below which the container did no block I/O (one in a 10 s window).</summary>
    public double MinIops { get; init; } = 0.1;

    /// <summary>
    /// Storage I/O of its tasks (/proc/&lt;pid&gt;/io) below which a container whose I/O no cgroup
    /// counter sees did none worth diagnosing: an idle shell pages in about 1.3 KB/s here.
    /// </summary>
    public double MinTaskIoBytesPerSecond { get; init; } = 64 << 10;
}

/// <summary>Reverse diagnosis for disk I/O: throttle limit, contention with other tenants, a device saturated by the container itself.</summary>
public static class DiskDiagnosis
{
    public const string Resource = "disk";

    public static ResourceDiagnosis Diagnose(DiskEvidence e, DiskThresholds? thresholds = null)
    {
        DiskThresholds t = thresholds ?? new DiskThresholds();
        var path = new PathBuilder();

        if (!e.ThrottleKnown)
            return path.Undecidable(Resource, "the kernel exposes no I/O throttle settings for this cgroup (no blkio.throttle.* or io.max)");
        if (!path.Ask("did block I/O", "container_iops", Math.Max(e.IopsPerSecond, e.TotalIopsPerSecond), t.MinIops))
        {
            // Its I/O may have gone to a busy device the cgroup counters do not see; its tasks'
            // own storage I/O counters tell whether it did any I/O at all.
            if (e.UncountedDevice is not null
                && path.Ask("a device busy with I/O no cgroup counter sees", "uncounted_device_utilization", e.UncountedDeviceUtilization, t.BusyUtilization)
                && (e.TaskIoBytesPerSecond < 0 || path.Ask("its tasks did storage I/O", "task_io_bytes_per_s", e.TaskIoBytesPerSecond, t.MinTaskIoBytesPerSecond)))
                return path.Undecidable(Resource,
                    $"no I/O of this cgroup was counted, but {e.UncountedDevice} was busy {100 * e.UncountedDeviceUtilization:0}% of the window and the kernel counts no cgroup's I/O on it " +
                    "(v1 blkio counts per-cgroup I/O on a device only once a throttle rule was set on it), " +
                    (e.TaskIoBytesPerSecond < 0 ? "and its tasks' /proc/<pid>/io is unreadable" : $"while its tasks did {e.TaskIoBytesPerSecond / 1048576:0.#} MiB/s of storage I/O") +
                    ", so whether it waits on that device is unknown");
            return path.Decide(Resource, Outcomes.NotLimited, "not I/O limited: no block I/O in the window");
        }
        double atLimit = Math.Max(
            e.LimitBytesPerSecond > 0 ? e.BytesPerSecond / e.LimitBytesPerSecond : 0,
            e.LimitIopsPerSecond > 0 ? e.IopsPerSecond / e.LimitIopsPerSecond : 0);
        if (path.Ask("I/O rate at its throttle", "rate_to_limit", atLimit, t.AtLimitRatio))
            return path.Decide(Resource, Outcomes.ThrottleLimited,
                $"throttle limited on {e.Device}: {e.Direction} {e.BytesPerSecond / 1048576:0.#} MiB/s, {e.IopsPerSecond:0} IOPS against a limit of {Describe(e)}");

        if (e.DeviceUtilization < 0)
            return path.Undecidable(Resource, $"no utilization for {e.Device} in /proc/diskstats");
        if (!path.Ask("device busy", "device_utilization", e.DeviceUtilization, t.BusyUtilization))
            return path.Decide(Resource, Outcomes.NotLimited, $"not I/O limited: {e.Device} is busy {100 * e.DeviceUtilization:0}% of the time");

        if (e.ContainerShareOfDevice < 0)
            return path.Undecidable(Resource, $"{e.Device} is busy but the container's share of its I/O is unknown");
        if (path.Ask("the container alone keeps it busy", "container_share_of_device", e.ContainerShareOfDevice, t.AloneShare))
            return path.Decide(Resource, Outcomes.DeviceSaturated,
                $"device saturated: {e.Device} is busy {100 * e.DeviceUtilization:0}% of the time, {100 * e.ContainerShareOfDevice:0}% of its I/O from this container");
        return path.Decide(Resource, Outcomes.Contention,
            $"contention: {e.Device} is busy {100 * e.DeviceUtilization:0}% of the time, {100 * (1 - e.ContainerShareOfDevice):0}% of its I/O from other tenants");
    }

    private static string Describe(DiskEvidence e) =>
        string.Join(" and ", new[]
        {
            e.LimitBytesPerSecond > 0 ? $"{e.LimitBytesPerSecond / 1048576:0.#} MiB/s" : null,
            e.LimitIopsPerSecond > 0 ? $"{e.LimitIopsPerSecond:0} IOPS" : null,
        }.Where(s => s is not null));
}
