using System.Runtime.InteropServices;

namespace AIOps.Trace.Interop;

/// <summary>An opened (and maybe loaded) libbpf object. Closing it unloads its programs once no link holds them.</summary>
internal sealed class SafeBpfObjectHandle : SafeHandle
{
    public SafeBpfObjectHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    internal SafeBpfObjectHandle(IntPtr handle) : this() => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        Interop.ObjectClose(handle);
        return true;
    }
}

/// <summary>An attached program. Releasing it detaches the program.</summary>
internal sealed class SafeBpfLinkHandle : SafeHandle
{
    public SafeBpfLinkHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    internal SafeBpfLinkHandle(IntPtr handle) : this() => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle() => Interop.LinkDestroy(handle) == 0;
}

/// <summary>A file descriptor this process owns (epoll instances).</summary>
internal sealed class SafeOwnedFdHandle : SafeHandle
{
    public SafeOwnedFdHandle() : base(new IntPtr(-1), ownsHandle: true) { }

    internal SafeOwnedFdHandle(int fd) : this() => SetHandle(new IntPtr(fd));

    public override bool IsInvalid => handle.ToInt64() < 0;

    internal int Fd => (int)handle.ToInt64();

    protected override bool ReleaseHandle() => Interop.Close((int)handle.ToInt64()) == 0;
}
