using System.Runtime.InteropServices;

namespace AIOps.Trace.Interop;

internal static partial class Interop
{
    /// <summary>Mirror of struct aiops_ring_mapping (native/aiops.h).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct RingMapping
    {
        public byte* Consumer;
        public byte* Producer;
        public byte* Data;
        public ulong DataSize;
        public ulong PageSize;
    }

    [LibraryImport(Shim, EntryPoint = "aiops_ringbuf_map")]
    internal static partial int RingBufferMap(int mapFd, out RingMapping mapping);

    [LibraryImport(Shim, EntryPoint = "aiops_ringbuf_unmap")]
    internal static partial int RingBufferUnmap(ref RingMapping mapping);

    [LibraryImport(Shim, EntryPoint = "aiops_epoll_open")]
    internal static partial int EpollOpen(int fd);

    [LibraryImport(Shim, EntryPoint = "aiops_epoll_wait")]
    internal static partial int EpollWait(int epollFd, int timeoutMs);
}
