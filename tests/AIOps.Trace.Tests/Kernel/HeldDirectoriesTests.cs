using System.Text;
using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// Cgroup files read through a directory held open (openat) on real cgroupfs: the same bytes as a
/// read by path, and a cgroup removed or made again under the same path is never read through
/// the old directory.
/// </summary>
public sealed class HeldDirectoriesTests : KernelTestBase
{
    private const int ENOENT = 2;

    private static (int Errno, string Text) Read(HeldDirectories dirs, string path)
    {
        byte[] buffer = new byte[64];
        int errno = dirs.Read(path, ref buffer, out int length);
        return (errno, errno == 0 ? Encoding.UTF8.GetString(buffer, 0, length) : "");
    }

    [Fact]
    public void A_burst_of_reads_in_one_directory_holds_it_once_and_reads_what_the_path_reads()
    {
        TestCgroup cg = NewCgroup("held-dir");
        cg.WriteCpu("cpu.cfs_quota_us", "30000");
        cg.WriteCpu("cpu.shares", "512");
        var dirs = new HeldDirectories(maxAge: long.MaxValue);

        foreach (string file in new[] { "cpu.cfs_quota_us", "cpu.shares", "cpu.cfs_period_us", "cpu.stat" })
        {
            (int errno, string text) = Read(dirs, cg.CpuDir + "/" + file);
            Assert.Equal(0, errno);
            Assert.Equal(File.ReadAllText(cg.CpuDir + "/" + file), text);
        }
        Assert.Equal("30000\n", Read(dirs, cg.CpuDir + "/cpu.cfs_quota_us").Text);
        Assert.Equal(1, dirs.Held); // four files, one directory

        // A file the directory does not have is missing, as by path; the directory stays held.
        Assert.Equal(ENOENT, Read(dirs, cg.CpuDir + "/no-such-file").Errno);
        Assert.Equal(ENOENT, Read(dirs, cg.CpuDir + "/no-such-dir/cpu.shares").Errno);

        // A second hierarchy's directory is a second slot; the text is its own.
        string memory = "/sys/fs/cgroup/memory" + cg.RelativePath;
        Assert.Equal(File.ReadAllText(memory + "/memory.limit_in_bytes"), Read(dirs, memory + "/memory.limit_in_bytes").Text);
        Assert.Equal(File.ReadAllText(cg.CpuDir + "/cpu.shares"), Read(dirs, cg.CpuDir + "/cpu.shares").Text);
    }

    [Fact]
    public void A_cgroup_removed_and_made_again_under_the_same_path_is_read_afresh()
    {
        TestCgroup first = NewCgroup("held-again");
        first.WriteCpu("cpu.shares", "512");
        var dirs = new HeldDirectories(maxAge: long.MaxValue); // held all along: only the fallback can see the new cgroup
        Assert.Equal("512\n", Read(dirs, first.CpuDir + "/cpu.shares").Text);
        Assert.Equal(1, dirs.Held);

        // Removed and made again with no read in between: the held descriptor is the old directory's.
        string path = first.RelativePath;
        first.Dispose();
        TestCgroup again = Own(TestCgroup.CreateAt(path));
        again.WriteCpu("cpu.shares", "2048");
        Assert.Equal("2048\n", Read(dirs, again.CpuDir + "/cpu.shares").Text);
        Assert.Equal("2048\n", Read(dirs, again.CpuDir + "/cpu.shares").Text);
        Assert.Equal(1, dirs.Held); // the new directory, held in place of the old

        again.Dispose();
        Assert.Equal(ENOENT, Read(dirs, again.CpuDir + "/cpu.shares").Errno); // gone: through the held directory and by path
        Assert.Equal(0, dirs.Held);
    }
}
