using System.Runtime.InteropServices;

namespace AIOps.Trace.Interop;

internal static partial class Interop
{
    /// <summary>Mirror of struct aiops_perf_cpu (native/aiops.h): one CPU's mapped perf ring.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct PerfCpu
    {
        public byte* Base;
        public ulong MmapSize;
        public int Cpu;
        public int Fd;
    }

    [LibraryImport(Shim, EntryPoint = "aiops_perfbuf_open")]
    internal static unsafe partial int PerfBufferOpen(int mapFd, uint dataPages, uint watermarkBytes,
        PerfCpu* cpus, uint maxCpus, out uint count, out int epollFd);

    [LibraryImport(Shim, EntryPoint = "aiops_perfbuf_close")]
    internal static unsafe partial int PerfBufferClose(PerfCpu* cpus, uint count);
}
