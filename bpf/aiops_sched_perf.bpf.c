// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The scheduler object with the perf buffer transport (kernels before 5.8, no BPF ring buffer). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "output_perfbuf.bpf.h"
#include "sched.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
