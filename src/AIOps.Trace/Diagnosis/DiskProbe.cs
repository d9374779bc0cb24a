using System.Diagnostics;
using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Diagnosis;

/// <summary>
/// One cgroup's block I/O counters and limits, and the host's devices, at one instant. Counters
/// are cumulative as the kernel keeps them.
/// </summary>
/// <param name="Timestamp">When it was read (Stopwatch ticks).</param>
/// <param name="CgroupVersion">1 or 2: the hierarchy the I/O files came from; 0 when the cgroup has none (see <paramref name="NoIoReason"/>).</param>
/// <param name="Io">
/// Per device: v1 <c>blkio.throttle.io_service_bytes_recursive</c> and <c>io_serviced_recursive</c>,
/// v2 <c>io.stat</c> (both include the cgroup's descendants).
/// </param>
/// <param name="Limits">Per device with a limit: v1 <c>blkio.throttle.{read,write}_{bps,iops}_device</c>, v2 <c>io.max</c>.</param>
/// <param name="ThrottleKnown">Whether the throttle files exist for the cgroup.</param>
/// <param name="Devices">/proc/diskstats under the host root; null when unreadable.</param>
/// <param name="CountedDevices">
/// v1: the devices blkio counts I/O on at all, those listed in the hierarchy root's
/// <c>io_service_bytes_recursive</c> (the kernel counts a device's I/O per cgroup only once a
/// throttle rule was set on it); null when every device is counted (v2) or it is unknown.
/// </param>
/// <param name="MalformedLines">Lines of these files that had an unexpected shape and were skipped.</param>
/// <param name="TaskIo">
/// v1 only: read_bytes + write_bytes of /proc/&lt;pid&gt;/io per task of the cgroup and its
/// descendants (storage I/O on any device, counted by blkio or not); null when unknown.
/// </param>
/// <param name="NoIoReason">Why there are no I/O files, when <paramref name="CgroupVersion"/> is 0.</param>
public sealed record DiskReading(
    long Timestamp,
    int CgroupVersion,
    IReadOnlyDictionary<DeviceNumber, DeviceIo> Io,
    IReadOnlyDictionary<DeviceNumber, DeviceLimits> Limits,
    bool ThrottleKnown,
    IReadOnlyDictionary<DeviceNumber, DiskStat>? Devices,
    IReadOnlySet<DeviceNumber>? CountedDevices,
    int MalformedLines,
    string? NoIoReason = null,
    IReadOnlyDictionary<int, long>? TaskIo = null) : IResourceReading;

/// <summary>
/// The disk probe: reads the cgroup's block I/O files (v1 blkio or v2 io, wherever the controller
/// is bound) and /proc/diskstats, picks the device the container used most over the window and
/// decides the disk tree (<see cref="DiskDiagnosis"/>) on it.
/// </summary>
public sealed class DiskProbe : IResourceProbe
{
    private const string V1Bytes = "blkio.throttle.io_service_bytes_recursive";
    private const string V1Ios = "blkio.throttle.io_serviced_recursive";

    private static readonly IReadOnlyDictionary<DeviceNumber, DeviceIo> NoIo = new Dictionary<DeviceNumber, DeviceIo>();
    private static readonly IReadOnlyDictionary<DeviceNumber, DeviceLimits> NoLimits = new Dictionary<DeviceNumber, DeviceLimits>();

    private readonly CgroupMounts _mounts;
    private readonly ICgroupFileSystem _fs;
    private readonly string _diskstatsFile;
    private readonly string _proc;
    private readonly DiskThresholds _thresholds;

    /// <summary>Reads the live cgroup file system and the host's /proc/diskstats under <see cref="ResourceProbeContext.HostRoot"/>.</summary>
    public DiskProbe(ResourceProbeContext context, DiskThresholds? thresholds = null)
        : this(context, RealCgroupFileSystem.Instance, thresholds)
    {
    }

    internal DiskProbe(ResourceProbeContext context, ICgroupFileSystem fs, DiskThresholds? thresholds = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(fs);
        _mounts = context.Mounts;
        _fs = fs;
        _proc = context.HostRoot.TrimEnd('/') + "/proc";
        _diskstatsFile = _proc + "/diskstats";
        _thresholds = thresholds ?? new DiskThresholds();
        _diskstats = new(() => ReadText(_diskstatsFile) is { } text ? DiskFiles.ParseDiskstats(text) : null);
        _counted = new(() => _mounts.ForController("blkio") is { Version: 1 } v1 && ReadText(v1.PathOf("/", V1Bytes)) is { } root
            ? DiskFiles.ParseV1Rwstat(root).Devices.Keys.ToHashSet() : null);
    }

    public string Resource => DiskDiagnosis.Resource;

    // /proc/diskstats and the devices the v1 throttle statistics count at all (the root cgroup's):
    // the host's files, once for a burst of readings.
    private DeviceTable<DiskStat>? HostDiskstats(long now) => _diskstats.Get(now);

    private IReadOnlySet<DeviceNumber>? CountedDevices(long now) => _counted.Get(now);

    private readonly BurstCache<DeviceTable<DiskStat>?> _diskstats;
    private readonly BurstCache<IReadOnlySet<DeviceNumber>?> _counted;

    public IResourceReading? Read(string cgroupPath)
    {
        ArgumentNullException.ThrowIfNull(cgroupPath);
        long now = Stopwatch.GetTimestamp();
        DiskReading? cgroup = _mounts.ForController("blkio") is { Version: 1 } v1
            ? ReadV1(v1, cgroupPath, now)
            : _mounts.ForController("io") is { } v2
                ? ReadV2(v2, cgroupPath, now)
                : Missing(cgroupPath, now, "no blkio (v1) or io (v2) controller is mounted");
        if (cgroup is null || cgroup.CgroupVersion == 0)
            return cgroup;

        DeviceTable<DiskStat>? stats = HostDiskstats(now);
        return cgroup with { Devices = stats?.Devices, MalformedLines = cgroup.MalformedLines + (stats?.Malformed ?? 0) };
    }

    public ResourceDiagnosis Diagnose(string cgroupPath, IResourceReading? start, IResourceReading end, double seconds)
    {
        if (end is not DiskReading now)
            throw new ArgumentException($"expected a {nameof(DiskReading)}, got {end?.GetType().Name ?? "null"}", nameof(end));
        if (now.CgroupVersion == 0)
            return Undecidable(now.NoIoReason ?? "the cgroup has no block I/O files");
        if (start is not DiskReading { CgroupVersion: not 0 } before)
            return Undecidable("the cgroup appeared during the window: its devices' counters have no baseline yet (the next window decides)");

        DiskEvidence evidence = Evidence(before, now, seconds, _thresholds);
        ResourceDiagnosis d = DiskDiagnosis.Diagnose(evidence, _thresholds) with { Evidence = evidence };
        int malformed = before.MalformedLines + now.MalformedLines;
        return malformed == 0 ? d : d with { Summary = d.Summary + $" [{malformed} malformed lines of the I/O files and diskstats skipped]" };
    }

    private ResourceDiagnosis Undecidable(string reason) =>
        new(Resource, Outcomes.Undecidable, [], "cannot decide: " + reason, reason);

    /// <summary>
    /// The tree's evidence from two readings. The device is the one the container moved the most
    /// bytes on, except that a device where it runs at its throttle wins; among near ties (within
    /// 10%: a loop device and its backing disk see the same I/O) the busiest. A counter that went
    /// backwards (the path was removed and made again) counts from zero.
    /// </summary>
    public static DiskEvidence Evidence(DiskReading start, DiskReading end, double seconds, DiskThresholds? thresholds = null)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(end);
        DiskThresholds t = thresholds ?? new DiskThresholds();
        double elapsed = end.Timestamp > start.Timestamp ? Stopwatch.GetElapsedTime(start.Timestamp, end.Timestamp).TotalSeconds : seconds;
        elapsed = Math.Max(elapsed, 1e-3);

        var used = new List<Candidate>();
        foreach ((DeviceNumber device, DeviceIo io) in end.Io)
        {
            DeviceIo delta = Delta(start.Io.GetValueOrDefault(device), io);
            if (delta.Bytes > 0 || delta.Ios > 0)
                used.Add(new Candidate(device, delta, end.Limits.GetValueOrDefault(device, DeviceLimits.None), elapsed));
        }

        (string? uncounted, double uncountedUtilization) = BusiestUncounted(start, end, elapsed);
        if (used.Count == 0)
        {
            return new DiskEvidence
            {
                Device = "none", ThrottleKnown = end.ThrottleKnown,
                UncountedDevice = uncounted, UncountedDeviceUtilization = uncountedUtilization,
                TaskIoBytesPerSecond = TaskIoRate(start, end, elapsed),
            };
        }

        long most = used.Max(u => u.Io.Bytes);
        Candidate pick = used.Where(c => c.AtLimit >= t.AtLimitRatio).MaxBy(c => c.AtLimit)
            ?? used.Where(c => c.Io.Bytes >= 0.9 * most).MaxBy(c => Utilization(start, end, c.Device, elapsed))!;
        DiskStat? stat = end.Devices is { } devices && devices.TryGetValue(pick.Device, out DiskStat s) ? s : null;
        double utilization = Utilization(start, end, pick.Device, elapsed);
        double share = -1;
        if (stat is { } now && start.Devices is { } before && before.TryGetValue(pick.Device, out DiskStat then))
        {
            long deviceBytes = now.Bytes - then.Bytes;
            share = deviceBytes > 0 ? Math.Clamp((double)pick.Io.Bytes / deviceBytes, 0, 1) : 1;
        }

        (string direction, double bps, double iops, double limitBps, double limitIops) = pick.Binding();
        return new DiskEvidence
        {
            Device = stat?.Name ?? pick.Device.ToString(),
            Direction = direction,
            BytesPerSecond = bps,
            IopsPerSecond = iops,
            TotalIopsPerSecond = pick.Io.Ios / elapsed,
            ThrottleKnown = end.ThrottleKnown,
            LimitBytesPerSecond = limitBps,
            LimitIopsPerSecond = limitIops,
            DeviceUtilization = utilization,
            ContainerShareOfDevice = share,
            UncountedDevice = uncounted,
            UncountedDeviceUtilization = uncountedUtilization,
        };
    }

    /// <summary>Share of the window the device had I/O in flight (diskstats io_ticks); -1 when it is not in both readings.</summary>
    private static double Utilization(DiskReading start, DiskReading end, DeviceNumber device, double elapsed) =>
        start.Devices is { } before && end.Devices is { } after
        && before.TryGetValue(device, out DiskStat then) && after.TryGetValue(device, out DiskStat now)
            ? Math.Clamp(Delta(then.IoTicksMs, now.IoTicksMs) / (1000 * elapsed), 0, 1)
            : -1;

    /// <summary>The busiest device with I/O in the window that the v1 counters do not count at all.</summary>
    private static (string? Name, double Utilization) BusiestUncounted(DiskReading start, DiskReading end, double elapsed)
    {
        if (end.CountedDevices is not { } counted || end.Devices is null)
            return (null, -1);
        (string? name, double best) = (null, -1.0);
        foreach ((DeviceNumber device, DiskStat stat) in end.Devices)
        {
            if (counted.Contains(device) || start.Devices?.GetValueOrDefault(device) is not { Name: not null } then || stat.Bytes == then.Bytes)
                continue;
            double u = Utilization(start, end, device, elapsed);
            if (u > best)
                (name, best) = (stat.Name, u);
        }
        return (name, best);
    }

    /// <summary>
    /// The tasks' storage I/O over the window: each task's growth since the start (a task new to
    /// the cgroup counts from zero); a task that exited during the window is not seen.
    /// </summary>
    private static double TaskIoRate(DiskReading start, DiskReading end, double elapsed)
    {
        if (start.TaskIo is not { } before || end.TaskIo is not { } after)
            return -1;
        long bytes = 0;
        foreach ((int pid, long now) in after)
            bytes += Delta(before.GetValueOrDefault(pid), now);
        return bytes / elapsed;
    }

    private static DeviceIo Delta(DeviceIo start, DeviceIo end) => new(
        Delta(start.ReadBytes, end.ReadBytes), Delta(start.WriteBytes, end.WriteBytes),
        Delta(start.ReadIos, end.ReadIos), Delta(start.WriteIos, end.WriteIos));

    private static long Delta(long start, long end) => start <= end ? end - start : end;

    /// <summary>A device the container did I/O on in the window, with its rates and limits.</summary>
    private sealed record Candidate(DeviceNumber Device, DeviceIo Io, DeviceLimits Limits, double Seconds)
    {
        private double ReadRatio => Math.Max(Ratio(Io.ReadBytes, Limits.ReadBps), Ratio(Io.ReadIos, Limits.ReadIops));
        private double WriteRatio => Math.Max(Ratio(Io.WriteBytes, Limits.WriteBps), Ratio(Io.WriteIos, Limits.WriteIops));

        /// <summary>Rate / limit in the direction nearest its limit; 0 without limits.</summary>
        public double AtLimit => Math.Max(ReadRatio, WriteRatio);

        /// <summary>The direction the tree should judge: the one nearest its limit, or both when none is set.</summary>
        public (string Direction, double Bps, double Iops, double LimitBps, double LimitIops) Binding()
        {
            bool readLimited = Limits.ReadBps > 0 || Limits.ReadIops > 0;
            bool writeLimited = Limits.WriteBps > 0 || Limits.WriteIops > 0;
            if (!readLimited && !writeLimited)
                return ("read+write", Io.Bytes / Seconds, Io.Ios / Seconds, -1, -1);
            return readLimited && (!writeLimited || ReadRatio > WriteRatio)
                ? ("read", Io.ReadBytes / Seconds, Io.ReadIos / Seconds, Limits.ReadBps, Limits.ReadIops)
                : ("write", Io.WriteBytes / Seconds, Io.WriteIos / Seconds, Limits.WriteBps, Limits.WriteIops);
        }

        private double Ratio(long count, long limit) => limit > 0 ? count / Seconds / limit : 0;
    }

    private DiskReading? ReadV1(CgroupMount mount, string path, long now)
    {
        string dir = mount.PathOf(path);
        string? bytes = ReadText(dir + "/" + V1Bytes);
        if (bytes is null)
            return _fs.Inode(dir) is null
                ? Missing(path, now, "the cgroup has no directory in the v1 blkio hierarchy")
                : Without(now, "the blkio hierarchy has no throttle statistics (a kernel without CONFIG_BLK_DEV_THROTTLING)");
        // A file gone after the first was read: the cgroup was removed mid-read.
        if (ReadText(dir + "/" + V1Ios) is not { } ios)
            return null;
        string? readBps = ReadText(dir + "/blkio.throttle.read_bps_device");
        string? writeBps = ReadText(dir + "/blkio.throttle.write_bps_device");
        string? readIops = ReadText(dir + "/blkio.throttle.read_iops_device");
        string? writeIops = ReadText(dir + "/blkio.throttle.write_iops_device");
        bool throttleKnown = readBps is not null && writeBps is not null && readIops is not null && writeIops is not null;
        if (!throttleKnown && _fs.Inode(dir) is null)
            return null;

        DeviceTable<(long Read, long Write)> byteTable = DiskFiles.ParseV1Rwstat(bytes), ioTable = DiskFiles.ParseV1Rwstat(ios);
        var io = new Dictionary<DeviceNumber, DeviceIo>();
        foreach (DeviceNumber device in byteTable.Devices.Keys.Union(ioTable.Devices.Keys))
        {
            (long rb, long wb) = byteTable.Devices.GetValueOrDefault(device);
            (long ri, long wi) = ioTable.Devices.GetValueOrDefault(device);
            io[device] = new DeviceIo(rb, wb, ri, wi);
        }
        DeviceTable<DeviceLimits> limits = DiskFiles.CombineV1Limits(readBps, writeBps, readIops, writeIops);
        IReadOnlySet<DeviceNumber>? counted = CountedDevices(now);
        return new DiskReading(now, 1, io, limits.Devices, throttleKnown, null, counted,
            byteTable.Malformed + ioTable.Malformed + limits.Malformed, null, counted is null ? null : ReadTaskIo(dir));
    }

    private DiskReading? ReadV2(CgroupMount mount, string path, long now)
    {
        string dir = mount.PathOf(path);
        string? stat = ReadText(dir + "/io.stat");
        if (stat is null)
            // A child has no io.stat until its parent lists io in cgroup.subtree_control.
            return _fs.Inode(dir) is not null
                ? Without(now, "the io controller is not enabled for this cgroup (its parent's cgroup.subtree_control)")
                : null;
        // The root cgroup has io.stat but no io.max.
        string? max = ReadText(dir + "/io.max");
        DeviceTable<DeviceIo> io = DiskFiles.ParseIoStat(stat);
        DeviceTable<DeviceLimits>? limits = max is null ? null : DiskFiles.ParseIoMax(max);
        return new DiskReading(now, 2, io.Devices, limits?.Devices ?? NoLimits, max is not null, null, null,
            io.Malformed + (limits?.Malformed ?? 0));
    }

    /// <summary>
    /// read_bytes + write_bytes of /proc/&lt;pid&gt;/io for every process of the cgroup directory and
    /// its descendants; null when a cgroup.procs or a task's file is unreadable (a sidecar without
    /// ptrace rights) or a directory went while we read.
    /// A process that exits while we read is skipped.
    /// </summary>
    private Dictionary<int, long>? ReadTaskIo(string dir)
    {
        var io = new Dictionary<int, long>();
        var dirs = new Stack<string>([dir]);
        while (dirs.TryPop(out string? d))
        {
            foreach (string child in _fs.EnumerateDirectories(d))
                dirs.Push(child);
            if (ReadText(d + "/cgroup.procs") is not { } procs)
                return null;
            foreach (string line in procs.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                if (!int.TryParse(line, out int pid))
                    continue;
                string? text;
                try
                {
                    text = _fs.ReadAllText($"{_proc}/{pid}/io");
                }
                catch (UnauthorizedAccessException)
                {
                    return null;
                }
                if (text is not null && DiskFiles.ParseTaskIo(text) is long bytes)
                    io[pid] = bytes;
            }
        }
        return io;
    }

    /// <summary>A cgroup the I/O files do not cover, or null when it is gone from the cpu hierarchy too.</summary>
    private DiskReading? Missing(string path, long now, string reason) =>
        (_mounts.ForController("cpu") ?? _mounts.Unified) is { } m && _fs.Inode(m.PathOf(path)) is not null
            ? Without(now, reason)
            : null;

    private static DiskReading Without(long now, string reason) => new(now, 0, NoIo, NoLimits, false, null, null, 0, reason);

    private string? ReadText(string path)
    {
        try
        {
            return _fs.ReadAllText(path);
        }
        catch (UnauthorizedAccessException)
        {
            // A sidecar without the privilege to read a file learns nothing from it; the tree
            // says which outcome that leaves undecidable.
            return null;
        }
    }
}
