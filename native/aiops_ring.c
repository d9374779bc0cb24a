// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Mapping of BPF ring buffers and the epoll wait that tells when one has data.
 * The records themselves are read by the managed side straight from the mapping. */
#include <errno.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include "aiops.h"

int32_t aiops_ringbuf_map(int32_t map_fd, struct aiops_ring_mapping *out)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	long page = sysconf(_SC_PAGESIZE);
	void *cons, *prod;

	if (!out)
		return -EINVAL;
	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return -errno;
	if (info.type != BPF_MAP_TYPE_RINGBUF)
		return -EINVAL;
	/* Layout (kernel/bpf/ringbuf.c): consumer page at offset 0 (writable), then the
	 * producer page and the data pages, which the kernel maps twice in a row. */
	cons = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (cons == MAP_FAILED)
		return -errno;
	prod = mmap(NULL, page + 2 * (size_t)info.max_entries, PROT_READ, MAP_SHARED, map_fd, page);
	if (prod == MAP_FAILED) {
		int err = -errno;

		munmap(cons, page);
		return err;
	}
	out->consumer = cons;
	out->producer = prod;
	out->data = (char *)prod + page;
	out->data_size = info.max_entries;
	out->page_size = (uint64_t)page;
	return 0;
}

int32_t aiops_ringbuf_unmap(struct aiops_ring_mapping *m)
{
	int err = 0;

	if (!m)
		return -EINVAL;
	if (m->producer && munmap(m->producer, m->page_size + 2 * m->data_size))
		err = -errno;
	if (m->consumer && munmap(m->consumer, m->page_size))
		err = -errno;
	m->consumer = m->producer = m->data = NULL;
	return err;
}

int32_t aiops_epoll_open(int32_t fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return -errno;
	ev.data.fd = fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
		int err = -errno;

		close(ep);
		return err;
	}
	return ep;
}

int32_t aiops_epoll_wait(int32_t epoll_fd, int32_t timeout_ms)
{
	struct epoll_event ev;
	int n = epoll_wait(epoll_fd, &ev, 1, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n;
}

int32_t aiops_close(int32_t fd)
{
	return close(fd) ? -errno : 0;
}
