using System.Runtime.InteropServices;

namespace AIOps.Trace.Cgroups;

/// <summary>The live cgroupfs / sysfs behind <see cref="ICgroupFileSystem"/>.</summary>
internal sealed partial class RealCgroupFileSystem : ICgroupFileSystem
{
    public static readonly RealCgroupFileSystem Instance = new();

    private RealCgroupFileSystem()
    {
    }

    public string? ReadAllText(string path)
    {
        // Missing files, and files of a cgroup removed mid-read (ENODEV) alike, are null.
        // Permission errors are UnauthorizedAccessException and still surface.
        return KernelText.Read(path);
    }

    public IEnumerable<string> EnumerateDirectories(string path)
    {
        try
        {
            // Materialised so a directory vanishing during enumeration cannot throw later.
            return Directory.GetDirectories(path);
        }
        catch (IOException)
        {
            return [];
        }
    }

    public unsafe ulong? Inode(string path)
    {
        // System.IO exposes no inode number, hence statx(2) (glibc >= 2.28). AT_FDCWD with an
        // absolute or cwd-relative path; flags 0 follows symlinks like stat(2).
        StatxBuffer buffer;
        int rc = Statx(AtFdCwd, path, 0, StatxIno, &buffer);
        if (rc != 0 || (buffer.Mask & StatxIno) == 0)
            return null;
        return buffer.Ino;
    }

    private const int AtFdCwd = -100;
    private const uint StatxIno = 0x100;

    // struct statx from include/uapi/linux/stat.h: fixed-width fields, identical on every
    // architecture, 256 bytes. Only the mask and the inode are read:
    //   u32 stx_mask @0, u32 stx_blksize @4, u64 stx_attributes @8, u32 stx_nlink @16,
    //   u32 stx_uid @20, u32 stx_gid @24, u16 stx_mode @28, u16 pad @30, u64 stx_ino @32, ...
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct StatxBuffer
    {
        [FieldOffset(0)] public uint Mask;
        [FieldOffset(32)] public ulong Ino;
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, StatxBuffer* buffer);
}
