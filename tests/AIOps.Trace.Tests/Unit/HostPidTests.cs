using AIOps.Trace.Sources;

namespace AIOps.Trace.Tests.Unit;

/// <summary>
/// The engine's own pid as the host numbers it (the programs' self filter compares task-&gt;tgid):
/// the first NStgid field of a proc mount's self/status. The sidecar test in ContainerRuntimeTests
/// proves it inside a real pod's PID namespace.
/// </summary>
public sealed class HostPidTests
{
    [Theory]
    [InlineData("Name:\tserve\nTgid:\t7\nNgid:\t0\nPid:\t7\nNStgid:\t48213\t7\nNSpid:\t48213\t7\n", 48213)]
    [InlineData("Name:\tserve\nNStgid:\t48213\t12\t7\nNSpid:\t48214\t13\t8\n", 48213)]
    [InlineData("Tgid:\t901\nNStgid:\t901\nNSpid:\t905\n", 901)]
    public void The_first_NStgid_field_is_the_proc_mounts_number(string status, int expected)
    {
        Assert.True(HostPid.TryParseOutermostTgid(status, out int pid));
        Assert.Equal(expected, pid);
    }

    [Theory]
    [InlineData("Name:\tserve\nTgid:\t7\nPid:\t7\n")]       // kernels before 4.1
    [InlineData("Name:\tserve\nNStgid:\t\nNSpid:\t\n")]
    [InlineData("Name:\tserve\nNStgid:\t-3\t7\n")]
    [InlineData("Name:\tNStgid: 5\nTgid:\t7\n")]              // a comm holding the key is not the line
    public void Status_without_a_usable_NStgid_line_is_refused(string status)
    {
        Assert.False(HostPid.TryParseOutermostTgid(status, out _));
    }

    [Fact]
    public void On_the_host_it_is_this_process_and_the_proc_mount_is_the_hosts()
    {
        // The test host runs in the initial PID namespace: kernel's own number for us is ours.
        Assert.Equal(HostPid.InitPidNamespace, new FileInfo("/proc/self/ns/pid").LinkTarget);
        Assert.Equal(Environment.ProcessId, HostPid.Of("/", out string? warning));
        Assert.Null(warning);
    }
}
