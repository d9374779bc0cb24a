/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* libaiops_shim: the thin C boundary between libbpf and AIOps.Trace (C#, P/Invoke).
 *
 * Conventions, fixed for every function here:
 * - names start with aiops_; arguments and results are fixed-width or opaque pointers;
 * - a function returns 0 (or a non-negative value it documents) on success and -errno on
 *   failure; it never prints;
 * - messages that libbpf prints while a call runs on this thread (the verifier log among
 *   them) are captured into the caller's buffer where a call takes one. */
#ifndef AIOPS_SHIM_H
#define AIOPS_SHIM_H

#include <stddef.h>
#include <stdint.h>

#define AIOPS_SHIM_ABI_VERSION 3

struct bpf_object;
struct bpf_link;

/* Shim ABI version, checked by the managed side at start-up. */
int32_t aiops_abi_version(void);

/* Opens an ELF BPF object held in memory (copied by libbpf). 0 or -errno; *out on success. */
int32_t aiops_object_open(const void *data, uint64_t size, const char *name, struct bpf_object **out);

/* As aiops_object_open, but CO-RE relocations are resolved against the BTF file at btf_path
 * (bpf_object_open_opts.btf_custom_path: a raw BTF blob or an ELF with .BTF, e.g. a BTFHub
 * file) instead of the kernel's /sys/kernel/btf/vmlinux; NULL means the kernel's. The file is
 * read at aiops_object_load, which fails with -errno (and libbpf's reason in its log) when it
 * is missing or not BTF. 0 or -errno; *out on success. */
int32_t aiops_object_open_btf(const void *data, uint64_t size, const char *name, const char *btf_path,
			      struct bpf_object **out);

/* Frees the object; its programs are unloaded once no link uses them. */
void aiops_object_close(struct bpf_object *obj);

/* Sets a `const volatile` global of .rodata before load. 0, -ENOENT (no such variable),
 * -EINVAL (size differs from the variable's) or -EBUSY (already loaded). */
int32_t aiops_object_set_const(struct bpf_object *obj, const char *name, const void *value, uint32_t size);

/* Chooses whether a program is loaded. 0, -ENOENT. */
int32_t aiops_program_set_autoload(struct bpf_object *obj, const char *prog, int32_t autoload);

/* Resizes a map before load (a ring buffer's size must be a power-of-two multiple of the
 * page size). 0, -ENOENT, -EINVAL, -EBUSY. */
int32_t aiops_map_set_max_entries(struct bpf_object *obj, const char *map, uint32_t max_entries);

/* Loads every program whose autoload is on. On failure the verifier log and libbpf's
 * messages are in log (NUL-terminated, truncated to log_size). 0 or -errno. */
int32_t aiops_object_load(struct bpf_object *obj, char *log, uint32_t log_size);

/* Attaches a loaded program where its section says. 0 or -errno; *out is the link. */
int32_t aiops_program_attach(struct bpf_object *obj, const char *prog, struct bpf_link **out,
			     char *log, uint32_t log_size);

/* Detaches and frees a link. 0 or -errno. */
int32_t aiops_link_destroy(struct bpf_link *link);

/* The fd of a loaded map (owned by the object: do not close). fd or -errno. */
int32_t aiops_map_fd(struct bpf_object *obj, const char *map);

/* Size of a map's value as the object declares it. size or -errno. */
int32_t aiops_map_value_size(struct bpf_object *obj, const char *map);

/* BPF_MAP_LOOKUP_ELEM into value, a buffer of value_size bytes. The kernel writes the map's value
 * size, or for per-CPU maps one value per possible CPU (the CPUs of
 * /sys/devices/system/cpu/possible), each rounded up to 8 bytes: a smaller buffer is refused with
 * -ENOSPC before the kernel writes anything. 0 or -errno. */
int32_t aiops_map_lookup(int32_t map_fd, const void *key, void *value, uint32_t value_size);

/* Runs a loaded raw_tp program once on the given CPU (BPF_F_TEST_RUN_ON_CPU, 5.10+).
 * 0 or -errno; *retval is the program's return value. */
int32_t aiops_program_run_on_cpu(struct bpf_object *obj, const char *prog, uint32_t cpu, uint32_t *retval);

/* Number of possible CPUs (the stride of per-CPU map values). count or -errno. */
int32_t aiops_possible_cpus(void);

/* A BPF ring buffer mapped into this process: the consumer page (read-write), the producer
 * page and the data area mapped twice back to back (read-only), so a record that wraps is
 * still contiguous in memory. */
struct aiops_ring_mapping {
	void *consumer;    /* u64 consumer position at offset 0 */
	void *producer;    /* u64 producer position at offset 0 */
	void *data;        /* producer + page_size */
	uint64_t data_size; /* a power of two */
	uint64_t page_size;
};

/* Maps the ring buffer map map_fd. 0 or -errno. */
int32_t aiops_ringbuf_map(int32_t map_fd, struct aiops_ring_mapping *out);

/* Unmaps what aiops_ringbuf_map mapped. 0 or -errno. */
int32_t aiops_ringbuf_unmap(struct aiops_ring_mapping *mapping);

/* An epoll instance watching fd for input (a ring buffer map fd signals new data).
 * epoll fd or -errno. */
int32_t aiops_epoll_open(int32_t fd);

/* Waits up to timeout_ms for the watched fd. 1 (ready), 0 (timeout or EINTR) or -errno. */
int32_t aiops_epoll_wait(int32_t epoll_fd, int32_t timeout_ms);

/* close(2). 0 or -errno. */
int32_t aiops_close(int32_t fd);

/* Feature probes (each a tiny load, as libbpf does). 1 supported, 0 not, or -errno. */
int32_t aiops_probe_map_type(uint32_t map_type);
int32_t aiops_probe_prog_type(uint32_t prog_type);
/* Whether programs of prog_type may call helper_id (enum bpf_func_id). 1, 0, or -errno
 * (-EOPNOTSUPP when the program type itself is missing). */
int32_t aiops_probe_helper(uint32_t prog_type, uint32_t helper_id);
/* Whether a raw_tp program can be run on a given CPU (BPF_PROG_TEST_RUN with BPF_F_TEST_RUN_ON_CPU,
 * Linux 5.10+), as every window cut does with the flush program. 1, 0 (refused), or -errno. */
int32_t aiops_probe_test_run_on_cpu(void);

/* Perf buffers (BPF_MAP_TYPE_PERF_EVENT_ARRAY), the transport of kernels without the BPF ring
 * buffer. One ring per CPU: a perf_event_mmap_page (data_head at offset 1024, data_tail at 1032,
 * data_offset/data_size at 1040/1048 where the kernel sets them) followed by the data pages. */
struct aiops_perf_cpu {
	void *base;         /* the mapping: metadata page, then the data pages */
	uint64_t mmap_size; /* page_size * (1 + data pages) */
	int32_t cpu;
	int32_t fd;         /* the CPU's PERF_COUNT_SW_BPF_OUTPUT event */
};

/* Opens a PERF_COUNT_SW_BPF_OUTPUT event (PERF_SAMPLE_RAW) on every possible CPU, maps
 * 1 + data_pages pages of each (data_pages a power of two), stores each fd in map_fd at the CPU's
 * index and watches them all with one epoll instance. The consumer is woken once
 * watermark_bytes wait in a CPU's ring, not per record. Offline CPUs (ENODEV) are skipped.
 * cpus must hold max_cpus entries (at least the possible CPUs, else -E2BIG); on success the first
 * *count are filled and *epoll_fd (the caller closes it with aiops_close) is set. 0 or -errno;
 * on failure nothing is left open. */
int32_t aiops_perfbuf_open(int32_t map_fd, uint32_t data_pages, uint32_t watermark_bytes,
			   struct aiops_perf_cpu *cpus, uint32_t max_cpus, uint32_t *count, int32_t *epoll_fd);

/* Unmaps and closes the count events aiops_perfbuf_open filled in. 0 or -errno. */
int32_t aiops_perfbuf_close(struct aiops_perf_cpu *cpus, uint32_t count);

/* Limits every thread of the process to the capabilities in keep (bit n = capability n of
 * linux/capability.h): effective, permitted and inheritable become (held & keep), ambient ones
 * are cleared, no_new_privs is set, and when the caller holds CAP_SETPCAP the bounding set loses
 * everything outside keep. Capabilities are per thread, so every other thread is signalled
 * (SIGRTMAX - 1, whose handler this installs) and applies the same in its handler; passes over
 * /proc/self/task repeat until every thread shows the limit. 0, -ETIMEDOUT (a thread did not
 * comply within timeout_ms: it may block the signal), -EPERM or -errno. */
int32_t aiops_caps_limit(uint64_t keep, int32_t timeout_ms);

#endif /* AIOPS_SHIM_H */
