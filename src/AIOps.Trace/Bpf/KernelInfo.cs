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

    /// <summary>Number of possible CPUs: the stride of per-CPU map values.</summary>
    public static int PossibleCpus => Interop.Interop.PossibleCpus() is int n and > 0 ? n : Environment.ProcessorCount;

    private static string? ReadTrimmed(string path)
    {
        try { return File.ReadAllText(path).Trim(); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
