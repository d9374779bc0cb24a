using System.Globalization;

namespace AIOps.Trace.Cgroups;

/// <summary>A block device number as the kernel prints it, "major:minor" (e.g. "7:0" for loop0).</summary>
public readonly record struct DeviceNumber(uint Major, uint Minor)
{
    public override string ToString() => $"{Major}:{Minor}";

    public static bool TryParse(ReadOnlySpan<char> text, out DeviceNumber device)
    {
        device = default;
        int colon = text.IndexOf(':');
        if (colon <= 0
            || !uint.TryParse(text[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out uint major)
            || !uint.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out uint minor))
            return false;
        device = new DeviceNumber(major, minor);
        return true;
    }
}

/// <summary>A cgroup's cumulative I/O on one device: bytes and operations, read and write.</summary>
public readonly record struct DeviceIo(long ReadBytes, long WriteBytes, long ReadIos, long WriteIos)
{
    public long Bytes => ReadBytes + WriteBytes;

    public long Ios => ReadIos + WriteIos;
}

/// <summary>A cgroup's configured I/O throttle on one device; -1 where no limit is set.</summary>
public readonly record struct DeviceLimits(long ReadBps, long WriteBps, long ReadIops, long WriteIops)
{
    public static readonly DeviceLimits None = new(-1, -1, -1, -1);

    public bool Any => ReadBps > 0 || WriteBps > 0 || ReadIops > 0 || WriteIops > 0;
}

/// <summary>One device of /proc/diskstats: cumulative sectors moved and the time it had I/O in flight.</summary>
/// <param name="SectorsRead">512-byte sectors read (field 6 of the line).</param>
/// <param name="SectorsWritten">512-byte sectors written (field 10).</param>
/// <param name="IoTicksMs">Milliseconds with at least one request in flight (field 13, io_ticks).</param>
public readonly record struct DiskStat(string Name, long SectorsRead, long SectorsWritten, long IoTicksMs)
{
    public long Bytes => 512 * (SectorsRead + SectorsWritten);
}

/// <summary>
/// A parsed per-device file. <see cref="Malformed"/> counts the lines that did not have the
/// expected shape and were skipped, so a caller can report them instead of losing them silently.
/// </summary>
public sealed record DeviceTable<T>(IReadOnlyDictionary<DeviceNumber, T> Devices, int Malformed);

/// <summary>
/// Parsers for the block I/O files of both cgroup versions and /proc/diskstats
/// (Documentation/admin-guide/cgroup-v1/blkio-controller.rst, cgroup-v2.rst "IO",
/// Documentation/admin-guide/iostats.rst). Each takes the file's text and never throws.
/// </summary>
public static class DiskFiles
{
    /// <summary>
    /// v1 <c>blkio.throttle.io_service_bytes[_recursive]</c> or <c>io_serviced[_recursive]</c>:
    /// lines "maj:min Read|Write|Sync|Async|Discard|Total value" and a last "Total value".
    /// Returns (read, write) per device.
    /// </summary>
    public static DeviceTable<(long Read, long Write)> ParseV1Rwstat(string text)
    {
        var devices = new Dictionary<DeviceNumber, (long Read, long Write)>();
        int malformed = 0;
        foreach (string[] f in Lines(text))
        {
            if (f.Length == 2 && f[0] == "Total" && ParseCount(f[1]) is not null)
                continue;
            if (f.Length != 3 || !DeviceNumber.TryParse(f[0], out DeviceNumber device) || ParseCount(f[2]) is not long value)
            {
                malformed++;
                continue;
            }
            (long read, long write) = devices.GetValueOrDefault(device);
            switch (f[1])
            {
                case "Read": devices[device] = (value, write); break;
                case "Write": devices[device] = (read, value); break;
                case "Sync" or "Async" or "Discard" or "Total": devices.TryAdd(device, (read, write)); break;
                default: malformed++; break;
            }
        }
        return new(devices, malformed);
    }

    /// <summary>v1 <c>blkio.throttle.{read,write}_{bps,iops}_device</c>: lines "maj:min limit".</summary>
    public static DeviceTable<long> ParseV1Limit(string text)
    {
        var devices = new Dictionary<DeviceNumber, long>();
        int malformed = 0;
        foreach (string[] f in Lines(text))
        {
            if (f.Length == 2 && DeviceNumber.TryParse(f[0], out DeviceNumber device) && ParseCount(f[1]) is long limit)
                devices[device] = limit > 0 ? limit : -1;
            else
                malformed++;
        }
        return new(devices, malformed);
    }

    /// <summary>
    /// The four v1 limit files combined per device (any of them may be null when missing).
    /// </summary>
    public static DeviceTable<DeviceLimits> CombineV1Limits(string? readBps, string? writeBps, string? readIops, string? writeIops)
    {
        var devices = new Dictionary<DeviceNumber, DeviceLimits>();
        int malformed = 0;
        Merge(readBps, (l, v) => l with { ReadBps = v });
        Merge(writeBps, (l, v) => l with { WriteBps = v });
        Merge(readIops, (l, v) => l with { ReadIops = v });
        Merge(writeIops, (l, v) => l with { WriteIops = v });
        return new(devices, malformed);

        void Merge(string? text, Func<DeviceLimits, long, DeviceLimits> set)
        {
            if (text is null)
                return;
            DeviceTable<long> table = ParseV1Limit(text);
            malformed += table.Malformed;
            foreach ((DeviceNumber device, long value) in table.Devices)
                devices[device] = set(devices.GetValueOrDefault(device, DeviceLimits.None), value);
        }
    }

    /// <summary>
    /// v2 <c>io.stat</c>: lines "maj:min rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N" (other
    /// keys, e.g. iocost's, are ignored). A line without the four keys is malformed.
    /// </summary>
    public static DeviceTable<DeviceIo> ParseIoStat(string text)
    {
        var devices = new Dictionary<DeviceNumber, DeviceIo>();
        int malformed = 0;
        foreach (string[] f in Lines(text))
        {
            if (!DeviceNumber.TryParse(f[0], out DeviceNumber device))
            {
                malformed++;
                continue;
            }
            long rbytes = -1, wbytes = -1, rios = -1, wios = -1;
            bool bad = false;
            foreach (string pair in f.AsSpan(1))
            {
                int eq = pair.IndexOf('=');
                if (eq <= 0)
                {
                    bad = true;
                    break;
                }
                string key = pair[..eq];
                if (key is not ("rbytes" or "wbytes" or "rios" or "wios"))
                    continue;
                if (ParseCount(pair[(eq + 1)..]) is not long value)
                {
                    bad = true;
                    break;
                }
                switch (key)
                {
                    case "rbytes": rbytes = value; break;
                    case "wbytes": wbytes = value; break;
                    case "rios": rios = value; break;
                    default: wios = value; break;
                }
            }
            if (bad || rbytes < 0 || wbytes < 0 || rios < 0 || wios < 0)
                malformed++;
            else
                devices[device] = new DeviceIo(rbytes, wbytes, rios, wios);
        }
        return new(devices, malformed);
    }

    /// <summary>v2 <c>io.max</c>: lines "maj:min rbps=N|max wbps=N|max riops=N|max wiops=N|max".</summary>
    public static DeviceTable<DeviceLimits> ParseIoMax(string text)
    {
        var devices = new Dictionary<DeviceNumber, DeviceLimits>();
        int malformed = 0;
        foreach (string[] f in Lines(text))
        {
            if (!DeviceNumber.TryParse(f[0], out DeviceNumber device))
            {
                malformed++;
                continue;
            }
            DeviceLimits limits = DeviceLimits.None;
            bool bad = f.Length == 1;
            foreach (string pair in f.AsSpan(1))
            {
                int eq = pair.IndexOf('=');
                string value = eq > 0 ? pair[(eq + 1)..] : "";
                long? limit = value == "max" ? -1 : ParseCount(value);
                if (limit is not long l)
                {
                    bad = true;
                    break;
                }
                switch (pair[..Math.Max(eq, 0)])
                {
                    case "rbps": limits = limits with { ReadBps = l }; break;
                    case "wbps": limits = limits with { WriteBps = l }; break;
                    case "riops": limits = limits with { ReadIops = l }; break;
                    case "wiops": limits = limits with { WriteIops = l }; break;
                    default: bad = true; break;
                }
            }
            if (bad)
                malformed++;
            else
                devices[device] = limits;
        }
        return new(devices, malformed);
    }

    /// <summary>
    /// /proc/diskstats: "major minor name" then at least 11 counters (14 fields; 18 since Linux
    /// 4.18, 20 since 5.5). Partitions are listed too, under their own device numbers.
    /// </summary>
    public static DeviceTable<DiskStat> ParseDiskstats(string text)
    {
        var devices = new Dictionary<DeviceNumber, DiskStat>();
        int malformed = 0;
        foreach (string[] f in Lines(text))
        {
            if (f.Length < 14
                || !uint.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out uint major)
                || !uint.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint minor)
                || ParseCount(f[5]) is not long sectorsRead
                || ParseCount(f[9]) is not long sectorsWritten
                || ParseCount(f[12]) is not long ioTicks)
            {
                malformed++;
                continue;
            }
            devices[new DeviceNumber(major, minor)] = new DiskStat(f[2], sectorsRead, sectorsWritten, ioTicks);
        }
        return new(devices, malformed);
    }

    /// <summary>
    /// /proc/&lt;pid&gt;/io: read_bytes + write_bytes, the storage I/O the task caused (proc(5));
    /// null when either key is missing or malformed.
    /// </summary>
    public static long? ParseTaskIo(string text)
    {
        long? read = null, write = null;
        foreach (string[] f in Lines(text))
        {
            if (f.Length != 2)
                continue;
            if (f[0] == "read_bytes:")
                read = ParseCount(f[1]);
            else if (f[0] == "write_bytes:")
                write = ParseCount(f[1]);
        }
        return read + write;
    }

    private static IEnumerable<string[]> Lines(string text)
    {
        foreach (string line in text.Split('\n'))
        {
            string[] fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 0)
                yield return fields;
        }
    }

    private static long? ParseCount(string text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value) ? value : null;
}
