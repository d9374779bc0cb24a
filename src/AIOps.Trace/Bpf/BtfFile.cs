using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace AIOps.Trace.Bpf;

/// <summary>
/// A BTF file given with <c>--btf</c> (<see cref="TracerOptions.BtfPath"/>) could not be used:
/// missing, not BTF, truncated, or a BTFHub directory without the running kernel's file. The
/// message is one line naming the file and what was expected.
/// </summary>
public sealed class BtfFileException(string path, string message) : Exception(message)
{
    /// <summary>The file or directory that was given.</summary>
    public string Path { get; } = path;
}

/// <summary>
/// The external BTF that CO-RE relocations use instead of the kernel's /sys/kernel/btf/vmlinux,
/// resolved and checked. Dispose it once the object is loaded: an archive extracted for it is
/// deleted then (libbpf reads the file only while loading).
/// </summary>
/// <param name="Path">The raw BTF (or ELF with .BTF) file handed to libbpf.</param>
/// <param name="Origin">Where it came from, for doctor: the file given, or the archive it was extracted from.</param>
public sealed record ResolvedBtf(string Path, string Origin, string? ExtractedTo) : IDisposable
{
    public void Dispose()
    {
        if (ExtractedTo is null)
            return;
        try
        {
            Directory.Delete(ExtractedTo, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless; the tracer is already loaded.
        }
    }
}

/// <summary>
/// Finds and checks external BTF: a file (a copy of a kernel's vmlinux BTF, a BTFHub
/// <c>&lt;release&gt;.btf</c>) or a directory laid out as BTFHub's archive,
/// <c>&lt;distro&gt;/&lt;version&gt;/&lt;arch&gt;/&lt;uname -r&gt;.btf[.tar.xz]</c>
/// (https://github.com/aquasecurity/btfhub-archive), from which the running kernel's file is taken.
/// </summary>
public static class BtfFile
{
    // struct btf_header, include/uapi/linux/btf.h: u16 magic, u8 version, u8 flags, u32 hdr_len,
    // u32 type_off, u32 type_len, u32 str_off, u32 str_len (offsets relative to the header's end).
    private const ushort Magic = 0xEB9F;
    private const int HeaderSize = 24;

    /// <summary>The architecture directory BTFHub uses for this machine ("x86_64", "arm64").</summary>
    public static string Arch => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "x86_64",
        Architecture.Arm64 => "arm64",
        Architecture.Arm => "arm",
        Architecture.S390x => "s390x",
        Architecture.Ppc64le => "ppc64le",
        Architecture.RiscV64 => "riscv64",
        Architecture other => other.ToString().ToLowerInvariant(),
    };

    /// <summary>
    /// Resolves <paramref name="path"/> for kernel <paramref name="release"/>: the file itself, or
    /// the matching file of a BTFHub directory (extracted to a temp directory when it is a
    /// .btf.tar.xz), and checks it is whole BTF. Throws <see cref="BtfFileException"/>.
    /// </summary>
    public static ResolvedBtf Resolve(string path, string release, string? arch = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(release);
        if (Directory.Exists(path))
            return FromArchive(path, release, arch ?? Arch);
        if (!File.Exists(path))
            throw new BtfFileException(path, $"BTF file '{path}' does not exist: expected a BTF file (a copy of a kernel's /sys/kernel/btf/vmlinux, a BTFHub <uname -r>.btf) or a BTFHub archive directory");
        if (path.EndsWith(".tar.xz", StringComparison.Ordinal))
            return Extract(path, release);
        Check(path);
        return new ResolvedBtf(path, path, null);
    }

    private static ResolvedBtf FromArchive(string dir, string release, string arch)
    {
        string[] names = [release + ".btf", release + ".btf.tar.xz"];
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, MaxRecursionDepth = 6 };
        // The running architecture's directory first, then plain files before archives, then by path.
        string? found = names
            .SelectMany(n => Directory.EnumerateFiles(dir, n, options))
            .OrderBy(f => Directory.GetParent(f)?.Name == arch ? 0 : 1)
            .ThenBy(f => f.EndsWith(".tar.xz", StringComparison.Ordinal) ? 1 : 0)
            .ThenBy(f => f, StringComparer.Ordinal)
            .FirstOrDefault();
        if (found is null)
            throw new BtfFileException(dir, $"BTF directory '{dir}' holds no BTF for kernel {release}: expected <distro>/<version>/{arch}/{release}.btf or .btf.tar.xz (the BTFHub archive layout)");
        return Resolve(found, release, arch);
    }

    // BTFHub ships each file as <release>.btf.tar.xz holding <release>.btf. .NET reads tar but not
    // xz, so the system's tar (with xz) unpacks it into a directory of our own.
    private static ResolvedBtf Extract(string archive, string release)
    {
        string dir = Directory.CreateTempSubdirectory("aiops-trace-btf-").FullName;
        try
        {
            var psi = new ProcessStartInfo("tar") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (string a in new[] { "-xJf", archive, "-C", dir })
                psi.ArgumentList.Add(a);
            string error;
            try
            {
                using Process p = Process.Start(psi)!;
                Task<string> stderr = p.StandardError.ReadToEndAsync();
                p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                error = p.ExitCode == 0 ? "" : stderr.Result.ReplaceLineEndings(" ").Trim();
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                error = $"tar could not run ({e.Message}); extract it by hand with tar -xJf and give the .btf file";
            }
            if (error.Length > 0)
                throw new BtfFileException(archive, $"BTF archive '{archive}' could not be extracted: {error}");
            string? file = Directory.EnumerateFiles(dir, "*.btf", SearchOption.AllDirectories)
                .OrderBy(f => System.IO.Path.GetFileName(f) == release + ".btf" ? 0 : 1).FirstOrDefault();
            if (file is null)
                throw new BtfFileException(archive, $"BTF archive '{archive}' holds no .btf file: expected {release}.btf inside");
            Check(file, archive);
            return new ResolvedBtf(file, archive, dir);
        }
        catch
        {
            Directory.Delete(dir, recursive: true);
            throw;
        }
    }

    /// <summary>Checks the file is whole BTF: the raw blob's header and sizes, or an ELF (whose .BTF libbpf checks at load).</summary>
    internal static void Check(string file, string? given = null)
    {
        string name = given is null ? $"BTF file '{file}'" : $"BTF file '{file}' (from '{given}')";
        string path = given ?? file;
        Span<byte> header = stackalloc byte[HeaderSize];
        long length;
        int read;
        try
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            length = stream.Length;
            read = stream.ReadAtLeast(header, HeaderSize, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BtfFileException(path, $"{name} cannot be read: {e.Message}");
        }
        if (read >= 4 && header[0] == 0x7F && header[1] == (byte)'E' && header[2] == (byte)'L' && header[3] == (byte)'F')
            return;
        const string expected = "a raw BTF blob (magic 0xEB9F, as /sys/kernel/btf/vmlinux or a BTFHub .btf) or an ELF file with a .BTF section";
        if (read < 2 || BinaryPrimitives.ReadUInt16LittleEndian(header) != Magic)
            throw new BtfFileException(path, read == 0 ? $"{name} is empty: expected {expected}" : $"{name} is not BTF: expected {expected}");
        if (read < HeaderSize)
            throw new BtfFileException(path, $"{name} is truncated: {length} bytes, shorter than the {HeaderSize}-byte BTF header");
        uint hdrLen = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        ulong typeEnd = (ulong)BinaryPrimitives.ReadUInt32LittleEndian(header[8..]) + BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
        ulong strEnd = (ulong)BinaryPrimitives.ReadUInt32LittleEndian(header[16..]) + BinaryPrimitives.ReadUInt32LittleEndian(header[20..]);
        ulong need = hdrLen + Math.Max(typeEnd, strEnd);
        if (header[2] != 1 || hdrLen < HeaderSize)
            throw new BtfFileException(path, $"{name} has an unknown BTF header (version {header[2]}, header length {hdrLen}): expected version 1");
        if ((ulong)length < need)
            throw new BtfFileException(path, $"{name} is truncated: its header describes {need} bytes, the file has {length}");
    }
}
