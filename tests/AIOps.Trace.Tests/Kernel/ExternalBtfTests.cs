using System.Diagnostics;
using System.Text.Json;
using AIOps.Trace.Bpf;
using AIOps.Trace.Tests.Shared;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// External BTF (--btf, <see cref="TracerOptions.BtfPath"/>) on this kernel: its own
/// /sys/kernel/btf/vmlinux copied to a file, or placed in a BTFHub-style archive directory,
/// relocates the CO-RE programs, which attach and measure; a corrupt, missing or foreign BTF is
/// one line and exit code 2 from the CLI and a <see cref="BtfFileException"/> from the library.
/// </summary>
public sealed class ExternalBtfTests : KernelTestBase
{
    private readonly string _dir;

    public ExternalBtfTests() => _dir = Own(new TempDir("aiops-btf-kernel-")).Path;

    private static string Release => File.ReadAllText("/proc/sys/kernel/osrelease").Trim();

    private string CopyOfVmlinux(string relative = "vmlinux.btf")
    {
        string path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.Copy(KernelInfo.VmlinuxBtfPath, path);
        return path;
    }

    [Theory]
    [InlineData(TransportMode.RingBuf, AttachMode.RawTp)]
    [InlineData(TransportMode.PerfBuf, AttachMode.Tracepoint)]
    [InlineData(TransportMode.RingBuf, AttachMode.TpBtf)]
    public void A_copy_of_the_kernels_btf_loads_attaches_and_measures(TransportMode transport, AttachMode attach)
    {
        string btf = CopyOfVmlinux();
        TestCgroup a = NewCgroup("btf-a"), b = NewCgroup("btf-b");
        TraceEngine engine = StartEngine(new EngineOptions { Mode = EngineMode.Ebpf, Tracer = new TracerOptions { BtfPath = btf, Transport = transport, Attach = attach } });
        Assert.Equal((AttachModes.Name(transport), AttachModes.Name(attach), btf), (engine.Kernel.Ring, engine.Kernel.Attach, engine.Kernel.BtfFile));
        Assert.True(engine.AttachedPrograms >= (engine.Kernel.WaitStamps == "sched_info" ? 1 : 4));

        var pa = Track(a.Start(TestCgroup.BusyLoop, cpu: 1));
        var pb = Track(b.Start(TestCgroup.BusyLoop, cpu: 1));
        Thread.Sleep(1500);
        Freeze(pa, pb);
        long kernelA = ProcFs.NonvoluntarySwitches(pa.Id);

        using EngineSnapshot s = engine.CollectWindow();
        ContainerSnapshot ca = Assert.Single(s.Containers, c => c.CgroupPath == a.RelativePath);
        // The ids the relocated programs read name the right cgroups: both loops wait and preempt each other.
        Assert.True(kernelA > 50, $"too few preemptions to compare: {kernelA}");
        Assert.InRange(ca.Involuntary, kernelA * 0.95, kernelA * 1.05);
        Assert.True(ca.RunQueue.Count > 50, $"run-queue waits: {ca.RunQueue.Count}");
        Assert.Equal(b.RelativePath, ca.TopPreemptors[0].CgroupPath);
    }

    [Fact]
    public void A_btfhub_archive_directory_gives_this_kernels_file_to_doctor_and_snapshot()
    {
        string file = CopyOfVmlinux($"debian/12/{BtfFile.Arch}/{Release}.btf");
        CopyOfVmlinux($"debian/12/{BtfFile.Arch}/5.10.0-8-amd64.btf");

        (int code, string stdout, string stderr) = CliProcess.Run("doctor", "--json", "--btf", _dir);
        Assert.True(code == 0, stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement btf = doc.RootElement.GetProperty("features").GetProperty("btf");
        Assert.True(btf.GetProperty("available").GetBoolean());
        Assert.Equal($"external: {file} (--btf), used for CO-RE instead of /sys/kernel/btf/vmlinux", btf.GetProperty("detail").GetString());
        Assert.Equal("ebpf", doc.RootElement.GetProperty("tier").GetProperty("mode").GetString());

        (code, stdout, stderr) = CliProcess.Run("snapshot", "--mode", "ebpf", "--duration", "300ms", "--json", "--btf", _dir);
        Assert.True(code == 0, stderr);
        using JsonDocument snap = JsonDocument.Parse(stdout);
        Assert.Equal(file, snap.RootElement.GetProperty("kernel").GetProperty("btf_file").GetString());
    }

    [Fact]
    public void A_btfhub_tar_xz_is_extracted_loaded_and_removed()
    {
        string staging = CopyOfVmlinux($"staging/{Release}.btf");
        string archive = Path.Combine(_dir, $"archive/debian/12/{BtfFile.Arch}/{Release}.btf.tar.xz");
        Directory.CreateDirectory(Path.GetDirectoryName(archive)!);
        BpfState.Run("tar", $"-cJf {archive} -C {Path.GetDirectoryName(staging)} {Release}.btf");
        TraceEngine engine = StartEngine(new EngineOptions { Mode = EngineMode.Ebpf, Tracer = new TracerOptions { BtfPath = Path.Combine(_dir, "archive") } });

        string extracted = engine.Kernel.BtfFile!;
        Assert.StartsWith(Path.GetTempPath().TrimEnd('/') + "/aiops-trace-btf-", extracted);
        Assert.EndsWith($"/{Release}.btf (from {archive})", extracted);
        Assert.True(engine.AttachedPrograms >= (engine.Kernel.WaitStamps == "sched_info" ? 1 : 4));
        // libbpf read the file while loading; the extracted copy is gone already.
        Assert.False(Directory.Exists(Path.GetDirectoryName(extracted[..extracted.IndexOf(" (from ", StringComparison.Ordinal)])));
    }

    public static TheoryData<string, string> BadFiles => new()
    {
        { "missing", "does not exist: expected a BTF file" },
        { "random", "is not BTF: expected a raw BTF blob" },
        { "truncated", "is truncated: its header describes" },
        { "foreign", "does not fit this kernel's programs (failed to resolve CO-RE relocation" },
        { "garbled", "does not fit this kernel's programs (libbpf: failed to parse target BTF" },
    };

    private string Bad(string kind)
    {
        string path = Path.Combine(_dir, kind + ".btf");
        byte[] vmlinux = File.ReadAllBytes(KernelInfo.VmlinuxBtfPath);
        switch (kind)
        {
            case "random":
                byte[] noise = new byte[64 * 1024];
                new Random(3).NextBytes(noise);
                noise[0] = 0;
                File.WriteAllBytes(path, noise);
                break;
            case "truncated":
                File.WriteAllBytes(path, vmlinux[..(vmlinux.Length / 2)]);
                break;
            case "foreign":
                // A whole, valid BTF that describes no type at all: nothing to relocate against.
                File.WriteAllBytes(path, [0x9F, 0xEB, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
                break;
            case "garbled":
                for (int i = 1000; i < 200_000; i += 7)
                    vmlinux[i] = 0xFF;
                File.WriteAllBytes(path, vmlinux);
                break;
        }
        return path;
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void A_bad_btf_file_is_one_line_and_exit_code_2(string kind, string expected)
    {
        string path = Bad(kind);
        foreach (string[] args in new[] { new[] { "snapshot", "--mode", "ebpf", "--duration", "200ms" }, ["snapshot", "--duration", "200ms"], ["doctor"] })
        {
            (int code, string stdout, string stderr) = CliProcess.Run([.. args, "--btf", path]);
            Assert.Equal(2, code);
            Assert.Equal("", stdout);
            string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith($"aiops-trace: BTF file '{path}' ", line);
            Assert.Contains(expected, line);
        }
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void A_bad_btf_file_is_a_typed_exception_from_the_library(string kind, string expected)
    {
        string path = Bad(kind);
        foreach (EngineMode mode in new[] { EngineMode.Ebpf, EngineMode.Auto })
        {
            var e = Assert.Throws<BtfFileException>(() => StartEngine(new EngineOptions { Mode = mode, Tracer = new TracerOptions { BtfPath = path } }));
            Assert.Equal(path, e.Path);
            Assert.Contains(expected, e.Message);
        }
        // Nothing was left loaded: the base class checks no aiops_ program remains.
    }
}
