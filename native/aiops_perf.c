// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Perf buffers: one PERF_COUNT_SW_BPF_OUTPUT event per CPU, its ring mapped into this process and
 * its fd stored in the BPF_MAP_TYPE_PERF_EVENT_ARRAY at the CPU's index, all watched by one epoll.
 * The records themselves are read by the managed side straight from the mappings. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "aiops.h"

_Static_assert(sizeof(struct aiops_perf_cpu) == 24, "fixed layout mirrored in Interop.PerfBuffer.cs");
_Static_assert(offsetof(struct perf_event_mmap_page, data_head) == 1024, "data_head offset read by PerfBuffer.cs");
_Static_assert(offsetof(struct perf_event_mmap_page, data_tail) == 1032, "data_tail offset written by PerfBuffer.cs");
_Static_assert(offsetof(struct perf_event_mmap_page, data_offset) == 1040, "data_offset offset read by PerfBuffer.cs");
_Static_assert(offsetof(struct perf_event_mmap_page, data_size) == 1048, "data_size offset read by PerfBuffer.cs");

static int open_cpu_event(uint32_t cpu, uint32_t watermark_bytes)
{
	struct perf_event_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_BPF_OUTPUT;
	attr.sample_type = PERF_SAMPLE_RAW;
	attr.sample_period = 1;
	/* Wake the poller once this many bytes wait, not per record (wakeup_events = 1 would). */
	attr.watermark = 1;
	attr.wakeup_watermark = watermark_bytes;
	return (int)syscall(__NR_perf_event_open, &attr, -1 /* any task */, (int)cpu, -1 /* no group */,
			    PERF_FLAG_FD_CLOEXEC);
}

int32_t aiops_perfbuf_open(int32_t map_fd, uint32_t data_pages, uint32_t watermark_bytes,
			   struct aiops_perf_cpu *cpus, uint32_t max_cpus, uint32_t *count, int32_t *epoll_fd)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t mmap_size = (size_t)page * (1 + (size_t)data_pages);
	int possible = libbpf_num_possible_cpus();
	uint32_t n = 0;
	int ep, err = 0;

	if (!cpus || !count || !epoll_fd || data_pages == 0 || (data_pages & (data_pages - 1)))
		return -EINVAL;
	if (possible < 0)
		return possible;
	if ((uint32_t)possible > max_cpus)
		return -E2BIG;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	for (uint32_t cpu = 0; cpu < (uint32_t)possible; cpu++) {
		struct epoll_event ev = { .events = EPOLLIN };
		int fd = open_cpu_event(cpu, watermark_bytes);
		void *base;

		if (fd < 0) {
			/* An offline CPU has no perf context: nothing will ever run there to write. */
			if (errno == ENODEV)
				continue;
			err = -errno;
			break;
		}
		base = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (base == MAP_FAILED) {
			err = -errno;
			close(fd);
			break;
		}
		cpus[n] = (struct aiops_perf_cpu){ .base = base, .mmap_size = mmap_size, .cpu = (int32_t)cpu, .fd = fd };
		n++;
		if (bpf_map_update_elem(map_fd, &cpu, &fd, BPF_ANY)) {
			err = -errno;
			break;
		}
		ev.data.u32 = n - 1;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
			err = -errno;
			break;
		}
	}
	if (!err && n == 0)
		err = -ENODEV;
	if (err) {
		aiops_perfbuf_close(cpus, n);
		close(ep);
		return err;
	}
	*count = n;
	*epoll_fd = ep;
	return 0;
}

int32_t aiops_perfbuf_close(struct aiops_perf_cpu *cpus, uint32_t count)
{
	int err = 0;

	if (!cpus && count)
		return -EINVAL;
	for (uint32_t i = 0; i < count; i++) {
		if (cpus[i].base && munmap(cpus[i].base, cpus[i].mmap_size))
			err = -errno;
		if (cpus[i].fd >= 0 && close(cpus[i].fd))
			err = -errno;
		cpus[i].base = NULL;
		cpus[i].fd = -1;
	}
	return err;
}
