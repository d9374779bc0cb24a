using System.Runtime.InteropServices;

namespace AIOps.Trace.Interop;

internal static partial class Interop
{
    internal const int AF_NETLINK = 16, SOCK_RAW = 3, SOCK_CLOEXEC = 0x80000, NETLINK_ROUTE = 0;
    internal const int CLONE_NEWNET = 0x40000000;
    internal const int SOL_SOCKET = 1, SO_RCVTIMEO = 20;

    /// <summary>
    /// setns(2): moves the calling thread into the namespace <paramref name="fd"/> refers to.
    /// 0 or -1 (errno in Marshal.GetLastPInvokeError). Only ever called on a thread made for it
    /// (NetNamespace.OpenRouteSocket), which ends right after.
    /// </summary>
    [LibraryImport(Libc, EntryPoint = "setns", SetLastError = true)]
    internal static partial int LibcSetns(int fd, int nsType);

    /// <summary>socket(2): a descriptor or -1. A socket stays in the network namespace it was created in.</summary>
    [LibraryImport(Libc, EntryPoint = "socket", SetLastError = true)]
    internal static partial int LibcSocket(int domain, int type, int protocol);

    /// <summary>send(2) on an unconnected netlink socket: to the kernel. Bytes sent or -1.</summary>
    [LibraryImport(Libc, EntryPoint = "send", SetLastError = true)]
    internal static unsafe partial nint LibcSend(int fd, byte* buffer, nint length, int flags);

    /// <summary>recv(2): one datagram, bytes received or -1.</summary>
    [LibraryImport(Libc, EntryPoint = "recv", SetLastError = true)]
    internal static unsafe partial nint LibcRecv(int fd, byte* buffer, nint length, int flags);

    /// <summary>setsockopt(2): 0 or -1.</summary>
    [LibraryImport(Libc, EntryPoint = "setsockopt", SetLastError = true)]
    internal static unsafe partial int LibcSetsockopt(int fd, int level, int name, void* value, uint length);
}
