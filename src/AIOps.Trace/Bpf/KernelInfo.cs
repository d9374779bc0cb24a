namespace AIOps.Trace.Bpf;

/// <summary>Facts about the running kernel that decide which mechanisms the tracer can use.</summary>
public static class KernelInfo
{
    public const string VmlinuxBtfPath = "/sys/kernel/btf/vmlinux";

    /// <summary>The kernel release, e.g. "6.18.44".</summary>
    public static string Release => ReadTrimmed("/proc/sys/kernel/osrelease") ?? "unknown";

    /// <summary>Whether the kernel exposes its own BTF (needed for CO-RE and tp_btf).</summary>
    public static bool HasVmlinuxBtf => File.Exists(VmlinuxBtfPath);

    /// <summary>Whether the kprobe PMU exists (CONFIG_KPROBES).</summary>
    public static bool HasKprobes => Directory.Exists("/sys/bus/event_source/devices/kprobe");

    /// <summary>Whether the kernel has BPF ring buffers (5.8+), probed by creating one.</summary>
    public static bool HasRingBuffer => Interop.Interop.ProbeMapType(MapTypeRingBuf) == 1;

    private const uint MapTypeRingBuf = 27; // BPF_MAP_TYPE_RINGBUF, include/uapi/linux/bpf.h

    /// <summary>Whether the kernel has perf event array maps (4.3+), the transport before ring buffers.</summary>
    public static bool HasPerfEventArray => Interop.Interop.ProbeMapType(MapTypePerfEventArray) == 1;

    private const uint MapTypePerfEventArray = 4; // BPF_MAP_TYPE_PERF_EVENT_ARRAY, include/uapi/linux/bpf.h

    public const string PossibleCpusPath = "/sys/devices/system/cpu/possible";

    /// <summary>
    /// Number of possible CPUs (<see cref="PossibleCpusPath"/>): how many values a per-CPU map
    /// holds. Not <see cref="Environment.ProcessorCount"/>, which affinity and CPU quota shrink.
    /// </summary>
    /// <exception cref="InvalidOperationException">The file is missing or not a CPU list.</exception>
    public static int PossibleCpus => CountPossibleCpus(ReadTrimmed(PossibleCpusPath), PossibleCpusPath);

    internal static int CountPossibleCpus(string? text, string path)
    {
        try
        {
            return text is not null && Cgroups.CpuList.Parse(text).Count is int n and > 0
                ? n
                : throw new InvalidOperationException($"{path} is missing or empty: cannot size per-CPU map values");
        }
        catch (FormatException e)
        {
            throw new InvalidOperationException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Whether the scheduler keeps each task's run-queue stamps (CONFIG_SCHED_INFO, and before 5.14
    /// only with schedstats or delay accounting on): /proc/self/schedstat exists and counts this
    /// process's time slices.
    /// </summary>
    public static bool HasLiveSchedInfo =>
        ReadTrimmed("/proc/self/schedstat") is string s && s.Split(' ') is [_, _, string slices] && ulong.TryParse(slices, out ulong n) && n > 0;

    private static string? ReadTrimmed(string path)
    {
        try { return File.ReadAllText(path).Trim(); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
