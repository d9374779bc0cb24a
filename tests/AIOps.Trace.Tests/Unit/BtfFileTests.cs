using System.Buffers.Binary;
using System.Diagnostics;
using AIOps.Trace.Bpf;

namespace AIOps.Trace.Tests.Unit;

/// <summary>
/// <see cref="BtfFile"/>: external BTF given with --btf, checked before libbpf sees it, and
/// found in a BTFHub-style archive directory by the running kernel's release.
/// </summary>
public sealed class BtfFileTests : IDisposable
{
    private const string Release = "5.4.0-1010-aws";
    private readonly string _dir = Directory.CreateTempSubdirectory("aiops-btf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // A whole raw BTF blob: the 24-byte header, <types> bytes of types, then "\0" as the string section.
    private static byte[] Blob(int types = 16)
    {
        byte[] b = new byte[24 + types + 1];
        BinaryPrimitives.WriteUInt16LittleEndian(b, 0xEB9F);
        b[2] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), 24);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), (uint)types);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(16), (uint)types);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(20), 1);
        return b;
    }

    private string Put(string relative, byte[] content)
    {
        string path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return path;
    }

    [Fact]
    public void A_whole_blob_is_used_as_given()
    {
        string file = Put("vmlinux.btf", Blob());
        using ResolvedBtf btf = BtfFile.Resolve(file, Release);
        Assert.Equal((file, file, null), (btf.Path, btf.Origin, btf.ExtractedTo));
    }

    [Fact]
    public void The_kernels_own_btf_passes_the_check()
    {
        using ResolvedBtf btf = BtfFile.Resolve("/sys/kernel/btf/vmlinux", Release);
        Assert.Equal("/sys/kernel/btf/vmlinux", btf.Path);
    }

    [Fact]
    public void A_missing_file_names_itself_and_what_was_expected()
    {
        string missing = Path.Combine(_dir, "nope.btf");
        var e = Assert.Throws<BtfFileException>(() => BtfFile.Resolve(missing, Release));
        Assert.Equal(missing, e.Path);
        Assert.Equal($"BTF file '{missing}' does not exist: expected a BTF file (a copy of a kernel's /sys/kernel/btf/vmlinux, a BTFHub <uname -r>.btf) or a BTFHub archive directory", e.Message);
    }

    [Fact]
    public void Random_bytes_are_not_btf()
    {
        byte[] noise = new byte[4096];
        new Random(7).NextBytes(noise);
        noise[0] = 0x12; // neither 0x9F (BTF, little-endian) nor 0x7F (ELF)
        string file = Put("noise.btf", noise);
        var e = Assert.Throws<BtfFileException>(() => BtfFile.Resolve(file, Release));
        Assert.StartsWith($"BTF file '{file}' is not BTF: expected a raw BTF blob (magic 0xEB9F", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_truncated_blob_says_how_much_is_missing()
    {
        byte[] whole = Blob(types: 1000);
        string file = Put("cut.btf", whole[..500]);
        var e = Assert.Throws<BtfFileException>(() => BtfFile.Resolve(file, Release));
        Assert.Equal($"BTF file '{file}' is truncated: its header describes {whole.Length} bytes, the file has 500", e.Message);

        string stub = Put("stub.btf", whole[..10]);
        e = Assert.Throws<BtfFileException>(() => BtfFile.Resolve(stub, Release));
        Assert.Contains("is truncated: 10 bytes, shorter than the 24-byte BTF header", e.Message);

        string empty = Put("empty.btf", []);
        e = Assert.Throws<BtfFileException>(() => BtfFile.Resolve(empty, Release));
        Assert.Contains("is empty", e.Message);
    }

    [Fact]
    public void A_btfhub_directory_gives_the_running_kernels_file_for_this_architecture()
    {
        Put($"ubuntu/20.04/x86_64/5.4.0-1009-aws.btf", Blob());
        Put($"ubuntu/20.04/arm64/{Release}.btf", Blob());
        string wanted = Put($"ubuntu/20.04/x86_64/{Release}.btf", Blob());
        Put($"centos/8/x86_64/4.18.0-80.el8.x86_64.btf", Blob());

        using ResolvedBtf btf = BtfFile.Resolve(_dir, Release, arch: "x86_64");
        Assert.Equal(wanted, btf.Path);
        using ResolvedBtf arm = BtfFile.Resolve(_dir, Release, arch: "arm64");
        Assert.EndsWith($"ubuntu/20.04/arm64/{Release}.btf", arm.Path);
    }

    [Fact]
    public void A_btfhub_directory_without_the_kernel_names_what_it_looked_for()
    {
        Put("debian/11/x86_64/5.10.0-8-amd64.btf", Blob());
        var e = Assert.Throws<BtfFileException>(() => BtfFile.Resolve(_dir, Release, arch: "x86_64"));
        Assert.Equal(_dir, e.Path);
        Assert.Equal($"BTF directory '{_dir}' holds no BTF for kernel {Release}: expected <distro>/<version>/x86_64/{Release}.btf or .btf.tar.xz (the BTFHub archive layout)", e.Message);
    }

    [Fact]
    public void A_btfhub_archive_is_extracted_for_the_load_and_removed_after()
    {
        // BTFHub ships <release>.btf.tar.xz holding <release>.btf.
        string staging = Directory.CreateTempSubdirectory("aiops-btf-staging-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(staging, Release + ".btf"), Blob());
            string archive = Path.Combine(_dir, $"ubuntu/20.04/x86_64/{Release}.btf.tar.xz");
            Directory.CreateDirectory(Path.GetDirectoryName(archive)!);
            Run("tar", "-cJf", archive, "-C", staging, Release + ".btf");

            ResolvedBtf btf = BtfFile.Resolve(_dir, Release, arch: "x86_64");
            Assert.Equal(archive, btf.Origin);
            Assert.Equal(Release + ".btf", Path.GetFileName(btf.Path));
            Assert.Equal(Blob(), File.ReadAllBytes(btf.Path));
            btf.Dispose();
            Assert.False(Directory.Exists(btf.ExtractedTo));
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }

    [Fact]
    public void A_corrupt_archive_is_a_one_line_error()
    {
        string archive = Put($"x86_64/{Release}.btf.tar.xz", [1, 2, 3, 4, 5]);
        var e = Assert.Throws<BtfFileException>(() => BtfFile.Resolve(archive, Release));
        Assert.StartsWith($"BTF archive '{archive}' could not be extracted: ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Libbpf_messages_about_the_target_btf_are_recognised()
    {
        Assert.Equal("libbpf: failed to parse target BTF: -22",
            SchedTracer.BtfProblem("libbpf: loading object\nlibbpf: failed to parse target BTF: -22\nlibbpf: failed to load object 'x'"));
        Assert.Equal("libbpf: prog 'aiops_btf_switch': failed to resolve CO-RE relocation <byte_off> [5] struct task_struct.pid (0:60 @ offset 2416)",
            SchedTracer.BtfProblem("libbpf: sec 'tp_btf/sched_switch': found 9 CO-RE relocations\nlibbpf: prog 'aiops_btf_switch': relo #0: no matching targets found\n" +
                                   "libbpf: prog 'aiops_btf_switch': failed to resolve CO-RE relocation <byte_off> [5] struct task_struct.pid (0:60 @ offset 2416)"));
        // A field-exists fallback that matches nothing on this kernel is normal, not a BTF problem.
        Assert.Null(SchedTracer.BtfProblem("libbpf: prog 'aiops_raw_switch': relo #2: no matching targets found\nlibbpf: prog 'aiops_fentry_throttle': failed to load: -1"));
        Assert.Null(SchedTracer.BtfProblem("libbpf: prog 'aiops_fentry_throttle': failed to load: -1\nlibbpf: failed to load object 'x'"));
        // fentry on a kernel without its own BTF: that attempt falls back, it is not the --btf file's fault.
        Assert.Null(SchedTracer.BtfProblem("libbpf: failed to find valid kernel BTF\nlibbpf: Error loading vmlinux BTF: -3"));
    }

    private static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardError = true };
        foreach (string a in args)
            psi.ArgumentList.Add(a);
        using Process p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, err);
    }
}
